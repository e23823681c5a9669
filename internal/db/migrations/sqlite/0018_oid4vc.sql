-- OpenID for Verifiable Credentials: the pre-authorized codes of the OpenID
-- Provider (internal/oidc), and the wallet's proof nonces and presentation
-- requests (internal/wallet). Secrets are stored as SHA-256 hashes only.

-- A pre-authorized code (OpenID4VCI §3.5) made for a signed-in person: the
-- provider hands its details back with the access token it is exchanged for.
CREATE TABLE oidc_preauth_codes (
	code_hash TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	resource TEXT NOT NULL,          -- the only audience of the access token
	details TEXT NOT NULL,           -- opaque to the provider (JSON)
	tx_code_hash TEXT NOT NULL,      -- '' when no transaction code is asked
	acr TEXT NOT NULL,
	auth_time BIGINT NOT NULL,
	failures INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0,
	family_id TEXT NOT NULL DEFAULT ''  -- the grant its use made: revoked if it is used again
) WITHOUT ROWID;
CREATE INDEX oidc_preauth_codes_expires ON oidc_preauth_codes (expires_at);

-- Nonces of the credential endpoint's proofs of possession: one use each.
CREATE TABLE wallet_oid4vci_nonces (
	nonce_hash TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX wallet_oid4vci_nonces_expires ON wallet_oid4vci_nonces (expires_at);

-- Presentation requests of the OpenID4VP verifier. The id is public (it is
-- in the response URI the wallet posts to); reading the result takes the
-- secret whose hash is read_hash. The verified claims are sealed.
CREATE TABLE wallet_vp_requests (
	id TEXT PRIMARY KEY,
	read_hash TEXT NOT NULL,
	nonce TEXT NOT NULL,
	state TEXT NOT NULL,
	type TEXT NOT NULL,
	claims TEXT NOT NULL,            -- JSON array of the claim names asked
	purpose TEXT NOT NULL,
	status TEXT NOT NULL,            -- pending, verified, failed
	result_sealed TEXT NOT NULL DEFAULT '',
	failures INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	answered_at BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX wallet_vp_requests_expires ON wallet_vp_requests (expires_at);
