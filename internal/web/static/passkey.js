// Passkeys (WebAuthn) on the login and account pages. Each page marks its
// passkey box with data-passkey="login" or "register", hidden until this
// script finds a browser that can use passkeys: without one (or without
// JavaScript) the pages work as before. Every message shown comes translated,
// from the box's data-msg-* attributes or from the server's problem details.
// The options and answers travel as JSON, their binary members in base64url.
'use strict';

(() => {
  const supported = window.isSecureContext === true &&
    typeof window.PublicKeyCredential === 'function' &&
    !!navigator.credentials &&
    typeof navigator.credentials.create === 'function' &&
    typeof navigator.credentials.get === 'function';

  function fromBase64url(s) {
    const b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buf) {
    const bytes = new Uint8Array(buf);
    let bin = '';
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  const descriptors = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

  function creationOptions(o) {
    return { ...o, challenge: fromBase64url(o.challenge), user: { ...o.user, id: fromBase64url(o.user.id) },
      excludeCredentials: descriptors(o.excludeCredentials) };
  }

  function requestOptions(o) {
    const options = { ...o, challenge: fromBase64url(o.challenge) };
    if (o.allowCredentials) options.allowCredentials = descriptors(o.allowCredentials);
    return options;
  }

  // credentialJSON is the PublicKeyCredential as the server reads it.
  function credentialJSON(cred) {
    const r = cred.response;
    const out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) },
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (typeof r.getTransports === 'function') out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  // ServerError carries the server's own (translated) explanation.
  class ServerError extends Error {}

  async function post(box, url, token, body) {
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': token },
        body: JSON.stringify(body || {}),
      });
    } catch (e) {
      throw new ServerError(box.dataset.msgFailed);
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok || !data) throw new ServerError((data && data.detail) || box.dataset.msgFailed);
    return data;
  }

  function explain(box, err) {
    if (err instanceof ServerError) return err.message;
    if (err && err.name === 'NotAllowedError') return box.dataset.msgCancelled;
    if (err && err.name === 'InvalidStateError' && box.dataset.msgExists) return box.dataset.msgExists;
    return box.dataset.msgFailed;
  }

  // go follows a redirect the server chose, but only to a path of this site.
  function go(path) {
    const p = typeof path === 'string' && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/account';
    window.location.assign(p);
  }

  // ceremony runs begin -> authenticator -> finish with the box's messages.
  function ceremony(box, button, token, run) {
    const status = box.querySelector('[data-passkey-status]');
    const alert = box.querySelector('[data-passkey-error]');
    return async () => {
      button.disabled = true;
      alert.hidden = true;
      status.textContent = box.dataset.msgWorking || '';
      try {
        const begin = await post(box, box.dataset.begin, token());
        const answer = await run(begin);
        const done = await post(box, box.dataset.finish, token(), answer);
        go(done.redirect);
      } catch (err) {
        status.textContent = '';
        alert.textContent = explain(box, err);
        alert.hidden = false;
        button.disabled = false;
      }
    };
  }

  function login(box) {
    const form = document.querySelector('form[action="/login"]');
    const field = (name) => {
      const input = form && form.querySelector(`input[name="${name}"]`);
      return input ? input.value : '';
    };
    const button = box.querySelector('button');
    button.addEventListener('click', ceremony(box, button, () => field('csrf_token'), async (begin) => {
      const cred = await navigator.credentials.get({ publicKey: requestOptions(begin.publicKey) });
      return { flow: begin.flow, next: field('next'), acr: field('acr'), credential: credentialJSON(cred) };
    }));
    box.hidden = false;
  }

  function register(box) {
    const form = box.querySelector('form');
    const button = form.querySelector('button[type="submit"]');
    const token = () => form.querySelector('input[name="csrf_token"]').value;
    const run = ceremony(box, button, token, async (begin) => {
      const cred = await navigator.credentials.create({ publicKey: creationOptions(begin.publicKey) });
      return { flow: begin.flow, name: form.querySelector('input[name="passkey_name"]').value, credential: credentialJSON(cred) };
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      run();
    });
    box.hidden = false;
  }

  if (!supported) {
    document.querySelectorAll('[data-passkey-unsupported]').forEach((el) => { el.hidden = false; });
    return;
  }
  document.querySelectorAll('[data-passkey="login"]').forEach(login);
  document.querySelectorAll('[data-passkey="register"]').forEach(register);
})();
