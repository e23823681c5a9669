// An outside wallet app receives a credential from civitas over OpenID4VCI
// with npm @openid4vc/openid4vci (a client nobody at civitas wrote), then
// checks it with npm @sd-jwt/sd-jwt-vc against the issuer's published keys.
//
// Input (a JSON file named as the first argument, or standard input):
//   { "offer": "openid-credential-offer://?credential_offer=...",
//     "tx_code": "123456",          optional: the code the holder reads from the page
//     "dpop": true,                 optional: bind the access token to the wallet's key (RFC 9449)
//     "vp_request": "openid4vp://?..." }  optional: a verifier's OpenID4VP request to answer
// It resolves the offer, fetches the credential issuer's and the authorization
// server's metadata, redeems the pre-authorized code at the token endpoint,
// gets a c_nonce, proves possession of its own P-256 key, requests the
// credential, verifies it (issuer signature with the key of
// /.well-known/jwt-vc-issuer, disclosures, status list, cnf = its key), presents
// it with a key binding JWT that the npm verifier accepts, and then tries to
// redeem the same code again. Given a vp_request, it then answers that
// OpenID4VP request with npm @openid4vc/openid4vp as a wallet app would:
// resolves it, reads the DCQL query, presents the claims asked for bound to
// the request's client_id and nonce, and posts the response (direct_post) —
// first one with a disclosure altered, which the verifier must refuse, then
// the genuine one.
// Output: {"credential", "holder_jwk", "claims", "status", "presentation_claims",
//          "second_redemption": {"refused": true, "error": "..."},
//          "vp": {"client_id", "claims_asked", "tampered_status", "status"}}
// Exit status 1, with the reason on standard error, when anything fails.
import { readFileSync } from 'node:fs';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { Openid4vpClient } from '@openid4vc/openid4vp';
import { clientAuthenticationAnonymous, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import { setGlobalConfig } from '@openid4vc/utils';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

const { subtle } = globalThis.crypto;
const utf8 = new TextEncoder();
const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const fromB64u = (s) => new Uint8Array(Buffer.from(s, 'base64url'));

async function sha256(data) {
  const bytes = typeof data === 'string' ? utf8.encode(data) : new Uint8Array(data);
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

async function verifierFor(jwk) {
  const { kty, crv, x, y } = jwk;
  if (kty !== 'EC' || crv !== 'P-256') throw new Error(`expected a P-256 key, got ${kty} ${crv}`);
  const key = await subtle.importKey('jwk', { kty, crv, x, y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return (data, sig) => subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, fromB64u(sig), utf8.encode(data));
}

async function main() {
  const input = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
  // The test runs civitas on http://127.0.0.1; the library asks for https by default.
  setGlobalConfig({ allowInsecureUrls: true });

  // The wallet app's own key: the credential must be bound to it.
  const { publicKey, privateKey } = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y } = await subtle.exportKey('jwk', publicKey);
  const holderJwk = { kty, crv, x, y };
  const sign = async (data) => b64u(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, utf8.encode(data)));
  const signer = { method: 'jwk', alg: 'ES256', publicJwk: holderJwk };

  const callbacks = {
    fetch: globalThis.fetch,
    hash: (data) => sha256(data),
    generateRandom: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: async (jwtSigner, { header, payload }) => {
      if (jwtSigner.method !== 'jwk') throw new Error(`unexpected signer ${jwtSigner.method}`);
      const input = `${b64u(utf8.encode(JSON.stringify(header)))}.${b64u(utf8.encode(JSON.stringify(payload)))}`;
      return { jwt: `${input}.${await sign(input)}`, signerJwk: holderJwk };
    },
    verifyJwt: async () => { throw new Error('no JWT to verify in this flow'); },
  };
  const client = new Openid4vciClient({ callbacks });

  const offer = await client.resolveCredentialOffer(input.offer);
  const metadata = await client.resolveIssuerMetadata(offer.credential_issuer);
  const configurationId = offer.credential_configuration_ids[0];
  const configuration = metadata.credentialIssuer.credential_configurations_supported[configurationId];
  if (configuration?.format !== 'dc+sd-jwt') throw new Error(`configuration ${configurationId}: ${JSON.stringify(configuration)}`);
  const dpop = input.dpop ? { signer } : undefined;
  const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer, issuerMetadata: metadata, txCode: input.tx_code, dpop,
  });
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata: metadata });
  const { jwt: proof } = await client.createCredentialRequestJwtProof({
    issuerMetadata: metadata, credentialConfigurationId: configurationId, signer, nonce, issuedAt: new Date(),
  });
  const response = await client.retrieveCredentials({
    issuerMetadata: metadata, credentialConfigurationId: configurationId, proofs: { jwt: [proof] },
    accessToken: token.accessTokenResponse.access_token, dpop: token.dpop,
  });
  const entry = response.credentialResponse.credentials?.[0];
  const credential = typeof entry === 'string' ? entry : entry?.credential;
  if (typeof credential !== 'string') throw new Error(`no credential in ${JSON.stringify(response.credentialResponse)}`);

  // Check it as any verifier would: the issuer's keys from its metadata.
  const issuerMeta = await (await fetch(new URL('/.well-known/jwt-vc-issuer', offer.credential_issuer))).json();
  const kid = JSON.parse(Buffer.from(credential.split('.')[0], 'base64url')).kid;
  const issuerJwk = issuerMeta.jwks.keys.find((k) => k.kid === kid);
  if (!issuerJwk || issuerMeta.issuer !== offer.credential_issuer) throw new Error(`issuer key ${kid} not published`);
  const issuerVerifier = await verifierFor(issuerJwk);
  const sdjwt = new SDJwtVcInstance({
    hasher: (data) => sha256(data),
    hashAlg: 'sha-256',
    saltGenerator: () => b64u(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    verifier: issuerVerifier,
    kbSigner: (data) => sign(data),
    kbSignAlg: 'ES256',
    kbVerifier: async (data, sig, payload) => (await verifierFor(payload.cnf.jwk))(data, sig),
    statusVerifier: issuerVerifier, // the agency's seal signs its status lists too
    statusListFetcher: async (uri) => {
      const res = await fetch(uri);
      if (!res.ok) throw new Error(`status list ${uri}: ${res.status}`);
      return res.text();
    },
  });
  const verified = await sdjwt.verify(credential);
  const claims = verified.payload;
  if (JSON.stringify(claims.cnf?.jwk) !== JSON.stringify(holderJwk)) {
    throw new Error(`credential bound to ${JSON.stringify(claims.cnf)}, not to this wallet's key`);
  }
  // Present two claims with the wallet's key; the npm verifier checks the binding.
  const shown = Object.keys(claims).filter((k) => !['iss', 'vct', 'iat', 'exp', 'cnf', 'status', '_sd_alg', 'issuing_authority'].includes(k)).slice(0, 2);
  const frame = Object.fromEntries(shown.map((k) => [k, true]));
  const aud = 'https://verifier.example', vpNonce = b64u(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const presentation = await sdjwt.present(credential, frame, {
    kb: { payload: { aud, nonce: vpNonce, iat: Math.floor(Date.now() / 1000) } },
  });
  const presented = await sdjwt.verify(presentation, { keyBindingNonce: vpNonce, requiredClaimKeys: shown, requireKeyBindings: true });
  if (presented.kb?.payload?.aud !== aud) throw new Error('key binding not verified');

  let second;
  try {
    await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata: metadata, txCode: input.tx_code });
    second = { refused: false };
  } catch (e) {
    second = { refused: true, error: e.errorResponse?.error ?? String(e.message) };
  }
  const vp = input.vp_request ? await answerPresentationRequest(input.vp_request, credential, sdjwt, callbacks) : undefined;
  const hasGrant = Boolean(offer.grants?.[preAuthorizedCodeGrantIdentifier]);
  process.stdout.write(JSON.stringify({
    credential, holder_jwk: holderJwk, configuration: configurationId, pre_authorized: hasGrant,
    token_type: token.accessTokenResponse.token_type, claims, status: 'valid',
    presentation_claims: Object.fromEntries(shown.map((k) => [k, presented.payload[k]])), second_redemption: second, vp,
  }));
}

// answerPresentationRequest answers an OpenID4VP 1.0 request (DCQL,
// direct_post, unsigned request with a redirect_uri client identifier).
async function answerPresentationRequest(uri, credential, sdjwt, callbacks) {
  const client = new Openid4vpClient({ callbacks });
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: uri });
  if (parsed.type !== 'openid4vp') throw new Error(`unexpected request type ${parsed.type}`);
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
  const request = resolved.authorizationRequestPayload;
  if (resolved.client.prefix !== 'redirect_uri' || request.response_mode !== 'direct_post') {
    throw new Error(`client ${JSON.stringify(resolved.client)}, response mode ${request.response_mode}`);
  }
  const query = resolved.dcql?.query?.credentials?.[0];
  const vct = JSON.parse(Buffer.from(credential.split('.')[1], 'base64url')).vct;
  if (!query || query.format !== 'dc+sd-jwt' || !query.meta?.vct_values?.includes(vct)) {
    throw new Error(`DCQL query ${JSON.stringify(resolved.dcql)} does not ask for ${vct}`);
  }
  const asked = query.claims.map((c) => c.path[0]);
  const frame = Object.fromEntries(asked.map((k) => [k, true]));
  // The key binding names the verifier's client_id and nonce (OpenID4VP 1.0 B.3.6).
  const kb = { payload: { aud: request.client_id, nonce: request.nonce, iat: Math.floor(Date.now() / 1000) } };
  const presentation = await sdjwt.present(credential, frame, { kb });
  const send = async (token) => {
    const { authorizationResponsePayload } = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request, authorizationResponsePayload: { vp_token: { [query.id]: [token] } },
    });
    const { response } = await client.submitOpenid4vpAuthorizationResponse({ authorizationRequestPayload: request, authorizationResponsePayload });
    return response.status;
  };
  // A disclosure altered after issuance: the salt-and-value's digest is no
  // longer in the signed payload.
  const parts = presentation.split('~');
  const disclosure = JSON.parse(Buffer.from(parts[1], 'base64url'));
  disclosure[2] = `${disclosure[2]} (altered)`;
  parts[1] = b64u(utf8.encode(JSON.stringify(disclosure)));
  const tamperedStatus = await send(parts.join('~'));
  const status = await send(presentation);
  return { client_id: request.client_id, claims_asked: asked, tampered_status: tamperedStatus, status };
}

main().catch((e) => {
  const detail = e?.errorResponse ? ` ${JSON.stringify(e.errorResponse)}` : e?.responseText ? ` ${e.responseText}` : '';
  process.stderr.write(`${e?.stack ?? e}${detail}\n`);
  process.exit(1);
});
