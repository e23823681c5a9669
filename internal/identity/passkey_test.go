package identity_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

var b64 = base64.RawURLEncoding

// softKey is a software passkey authenticator: an ECDSA P-256 key and the
// CTAP2 answers a platform authenticator gives, built by hand, so the tests
// check the server against the bytes of the specification and not against
// the library's own helpers. A test changes its fields to make an answer wrong.
type softKey struct {
	t          *testing.T
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte // learnt at registration; a test may swap it
	count      uint32 // the signature counter of the next answer
	origin     string // where the browser says it was: http://civitas.test
	rpID       string // whose hash the authenticator signs: civitas.test
	flags      byte   // UP|UV unless a test drops one
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softKey{t: t, key: key, credID: id, count: 1, origin: "http://civitas.test", rpID: "civitas.test", flags: flagUP | flagUV}
}

// ceremony is the answer of a begin endpoint.
type ceremony struct {
	Flow      string `json:"flow"`
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"` // login
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"` // registration
		User struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		UserVerification   string `json:"userVerification"`
		Attestation        string `json:"attestation"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

func (k *softKey) authData(flags byte, extra []byte) []byte {
	rp := sha256.Sum256([]byte(k.rpID))
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], k.count)
	out := append(append(append(rp[:], flags), count[:]...), extra...)
	return out
}

// create answers navigator.credentials.create with attestation "none".
func (k *softKey) create(c ceremony) map[string]any {
	k.t.Helper()
	handle, err := b64.DecodeString(c.PublicKey.User.ID)
	if err != nil {
		k.t.Fatalf("user.id %q: %v", c.PublicKey.User.ID, err)
	}
	k.userHandle = handle
	point, err := k.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		k.t.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:]}) // EC2, ES256, P-256
	if err != nil {
		k.t.Fatal(err)
	}
	var attested []byte
	attested = append(attested, make([]byte, 16)...) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.credID)))
	attested = append(append(attested, k.credID...), cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(k.flags|flagAT, attested)})
	if err != nil {
		k.t.Fatal(err)
	}
	k.count++
	return map[string]any{"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(k.clientData("webauthn.create", c.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal"}}}
}

// get answers navigator.credentials.get: a signature over the
// authenticator data and the hash of the client data.
func (k *softKey) get(c ceremony) map[string]any {
	k.t.Helper()
	auth := k.authData(k.flags, nil)
	cd := k.clientData("webauthn.get", c.PublicKey.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	k.count++
	return map[string]any{"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(auth),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.userHandle)}}
}

// token reads the CSRF token of a page.
func (b *browser) token(page string) string {
	b.t.Helper()
	_, _, body := b.get(page)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", page)
	}
	return m[1]
}

// postJSON posts body (bytes are sent as they are) as passkey.js does: JSON,
// asking for JSON, with the CSRF token in the header unless token is "".
func (b *browser) postJSON(token, path string, body any) (int, []byte) {
	b.t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			b.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Origin", "http://civitas.test")
	if token != "" {
		req.Header.Set("X-CSRF-Token", token)
	}
	resp, err := b.do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// begin starts a ceremony and fails the test unless it starts.
func (b *browser) begin(page, path string) (string, ceremony) {
	b.t.Helper()
	tok := b.token(page)
	st, body := b.postJSON(tok, path, map[string]any{})
	var c ceremony
	if st != http.StatusOK || json.Unmarshal(body, &c) != nil || c.Flow == "" || c.PublicKey.Challenge == "" {
		b.t.Fatalf("begin %s: %d %s", path, st, body)
	}
	return tok, c
}

// addPasskey registers k on the account page.
func (b *browser) addPasskey(k *softKey, name string) (int, []byte) {
	b.t.Helper()
	tok, c := b.begin("/account", "/account/passkeys/begin")
	return b.postJSON(tok, "/account/passkeys/finish", map[string]any{"flow": c.Flow, "name": name, "credential": k.create(c)})
}

// passkeyLogin signs in with k on the login page.
func (b *browser) passkeyLogin(k *softKey, acr string) (int, []byte) {
	b.t.Helper()
	tok, c := b.begin("/login", "/login/passkey/begin")
	return b.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "next": "/account", "acr": acr, "credential": k.get(c)})
}

type problemDoc struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func problemOf(t *testing.T, body []byte) problemDoc {
	t.Helper()
	var p problemDoc
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem document: %s", body)
	}
	return p
}

// wantProblem checks a refused request: its status and the message of key
// in the default language.
func (f *fixture) wantProblem(t *testing.T, st int, body []byte, status int, key string, args ...any) {
	t.Helper()
	p := problemOf(t, body)
	if want := f.web.Catalog().T("vi", key, args...); st != status || p.Detail != want {
		t.Fatalf("got %d %q, want %d %q (%s)", st, p.Detail, status, want, key)
	}
}

// citizen makes an account of the given level with a password and signs it
// in with that password alone.
func (f *fixture) citizen(srv *httptest.Server, level int) (*browser, identity.Account) {
	f.t.Helper()
	p := f.adultWithPhone(0)
	a, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: level, Password: "citizen password"})
	if err != nil {
		f.t.Fatal(err)
	}
	b := f.browser(srv)
	b.login(a.CitizenID, "citizen password", "")
	return b, a
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(f.ctx, query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) sessionOf(accountID string) (acr, amr string) {
	f.t.Helper()
	err := f.db.QueryRow(f.ctx, `SELECT acr, amr FROM web_sessions WHERE account_id = ? ORDER BY created_at DESC LIMIT 1`, accountID).Scan(&acr, &amr)
	if err != nil {
		f.t.Fatal(err)
	}
	return acr, amr
}

var passkeyIDField = regexp.MustCompile(`name="passkey" value="([^"]+)"`)

func TestPasskeyRegisterAndLogin(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.web.Handler())
	defer srv.Close()
	f.clock.Set(time.Now())

	// The login page offers the passkey button beside the unchanged form.
	anon := f.browser(srv)
	_, _, page := anon.get("/login")
	for _, want := range []string{`id="passkey-login"`, `name="username"`, `autocomplete="username"`, `name="password"`,
		`autocomplete="current-password"`, `name="otp"`, `autocomplete="one-time-code"`, `src="/static/passkey.`} {
		if !strings.Contains(page, want) {
			t.Fatalf("login page lacks %s", want)
		}
	}

	b, a := f.citizen(srv, 2)
	_, _, page = b.get("/account")
	if !strings.Contains(page, `id="passkey-none"`) || !strings.Contains(page, `id="passkey-register"`) {
		t.Fatal("account page does not offer a passkey")
	}
	k := newSoftKey(t)
	tok, c := b.begin("/account", "/account/passkeys/begin")
	// A discoverable credential, verified user, no attestation, for this site.
	pk := c.PublicKey
	if pk.RP.ID != "civitas.test" || pk.AuthenticatorSelection.ResidentKey != "required" ||
		pk.AuthenticatorSelection.UserVerification != "required" || pk.Attestation != "none" || pk.User.Name != a.CitizenID {
		t.Fatalf("creation options: %+v", pk)
	}
	st, body := b.postJSON(tok, "/account/passkeys/finish", map[string]any{"flow": c.Flow, "name": "  My   phone ", "credential": k.create(c)})
	if st != http.StatusOK || !strings.Contains(string(body), `"redirect":"/account?done=passkey_added"`) {
		t.Fatalf("register: %d %s", st, body)
	}
	if string(k.userHandle) != a.ID {
		t.Fatalf("user handle %q is not the account ID", k.userHandle)
	}
	_, _, page = b.get("/account?done=passkey_added")
	if !strings.Contains(page, "<td>My phone</td>") || !strings.Contains(page, f.web.Catalog().T("vi", "identity.done.passkey_added")) {
		t.Fatal("account page does not list the new passkey")
	}
	if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'identity.passkey.add' AND subject_id = ?`, a.ID); n != 1 {
		t.Fatalf("%d audit records of the registration", n)
	}
	if n := f.count(`SELECT COUNT(*) FROM account_events WHERE kind = 'passkey.added' AND account_id = ?`, a.ID); n != 1 {
		t.Fatalf("%d history entries of the registration", n)
	}
	// The next registration excludes the authenticator that has one already,
	// and the same credential is never stored twice.
	b2 := f.browser(srv)
	if st, body := b2.passkeyLogin(k, ""); st != http.StatusOK {
		t.Fatalf("passkey login for the second registration: %d %s", st, body)
	}
	tok, c = b2.begin("/account", "/account/passkeys/begin")
	if len(c.PublicKey.ExcludeCredentials) != 1 || c.PublicKey.ExcludeCredentials[0].ID != b64.EncodeToString(k.credID) {
		t.Fatalf("excludeCredentials: %+v", c.PublicKey.ExcludeCredentials)
	}
	st, body = b2.postJSON(tok, "/account/passkeys/finish", map[string]any{"flow": c.Flow, "name": "again", "credential": k.create(c)})
	f.wantProblem(t, st, body, http.StatusConflict, "error.identity.passkey_exists")

	// Sign out; sign in with the passkey alone: a level-2 account gets level 2.
	if st, _, _ := b.post("/account", "/logout", url.Values{}, false); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	fresh := f.browser(srv)
	tok, c = fresh.begin("/login", "/login/passkey/begin")
	if c.PublicKey.RPID != "civitas.test" || c.PublicKey.UserVerification != "required" {
		t.Fatalf("request options: %+v", c.PublicKey)
	}
	before := fresh.sessionCookie()
	st, body = fresh.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "next": "//evil.example/", "credential": k.get(c)})
	if st != http.StatusOK || !strings.Contains(string(body), `"redirect":"/account"`) {
		t.Fatalf("passkey login: %d %s", st, body)
	}
	if after := fresh.sessionCookie(); after == before || after == "" {
		t.Fatal("session not renewed at passkey login (fixation)")
	}
	st, _, page = fresh.get("/account")
	if st != http.StatusOK || !strings.Contains(page, `id="session-level">Mức 2`) || strings.Contains(page, f.web.Catalog().T("vi", "identity.passkey.never")) {
		t.Fatalf("account page after passkey login: %d", st)
	}
	if acr, amr := f.sessionOf(a.ID); acr != kernel.ACRLevel2 || amr != "hwk user mfa" {
		t.Fatalf("session acr %q amr %q", acr, amr)
	}
	if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'identity.passkey.login' AND subject_id = ?`, a.ID); n != 2 {
		t.Fatalf("%d audit records of passkey logins", n)
	}
	if n := f.count(`SELECT COUNT(*) FROM account_events WHERE kind = 'login' AND account_id = ? AND details LIKE '%hwk user mfa%'`, a.ID); n != 2 {
		t.Fatalf("%d history entries of passkey logins", n)
	}

	// A level-1 account's passkey gives level 1, and cannot reach level 2.
	c1, a1 := f.citizen(srv, 1)
	k1 := newSoftKey(t)
	if st, body := c1.addPasskey(k1, "laptop"); st != http.StatusOK {
		t.Fatalf("level-1 register: %d %s", st, body)
	}
	if st, body := f.browser(srv).passkeyLogin(k1, ""); st != http.StatusOK {
		t.Fatalf("level-1 passkey login: %d %s", st, body)
	}
	if acr, _ := f.sessionOf(a1.ID); acr != kernel.ACRLevel1 {
		t.Fatalf("level-1 account got %s", acr)
	}
	st, body = f.browser(srv).passkeyLogin(k1, "level2")
	f.wantProblem(t, st, body, http.StatusForbidden, "error.identity.level2_needed")

	// A passkey login is a two-factor session: it may remove a passkey.
	signedIn := f.browser(srv)
	if st, body := signedIn.passkeyLogin(k1, ""); st != http.StatusOK {
		t.Fatalf("passkey login: %d %s", st, body)
	}
	_, _, page = signedIn.get("/account")
	id := passkeyIDField.FindStringSubmatch(page)
	if id == nil {
		t.Fatal("no remove button after a passkey login")
	}
	st, loc, _ := signedIn.post("/account", "/account/passkeys/remove", url.Values{"passkey": {id[1]}}, false)
	if st != http.StatusSeeOther || loc != "/account?done=passkey_removed" {
		t.Fatalf("remove: %d %s", st, loc)
	}
	if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'identity.passkey.remove' AND subject_id = ?`, a1.ID); n != 1 {
		t.Fatalf("%d audit records of the removal", n)
	}
	// The removed passkey opens nothing.
	st, body = f.browser(srv).passkeyLogin(k1, "")
	f.wantProblem(t, st, body, http.StatusUnauthorized, "error.identity.passkey_unknown")
	_, _, page = signedIn.get("/account/history")
	for _, key := range []string{"identity.event.passkey.added", "identity.event.passkey.removed"} {
		if !strings.Contains(page, f.web.Catalog().T("vi", key)) {
			t.Fatalf("history lacks %s", key)
		}
	}
}

func TestPasskeyLoginRefused(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.web.Handler())
	defer srv.Close()
	f.clock.Set(time.Now())

	// Citizen A has a passkey; citizen B has another.
	ba, a := f.citizen(srv, 2)
	ka := newSoftKey(t)
	if st, body := ba.addPasskey(ka, "A's phone"); st != http.StatusOK {
		t.Fatalf("register A: %d %s", st, body)
	}
	bb, b := f.citizen(srv, 2)
	kb := newSoftKey(t)
	if st, body := bb.addPasskey(kb, "B's phone"); st != http.StatusOK {
		t.Fatalf("register B: %d %s", st, body)
	}
	failed, unknown, expired := "error.identity.passkey_failed", "error.identity.passkey_unknown", "error.identity.passkey_expired"

	for _, tc := range []struct {
		name   string
		spoil  func(k *softKey) // what the authenticator does wrong
		status int
		key    string
	}{
		{"fail/wrong-origin", func(k *softKey) { k.origin = "http://civitas.test.evil.example" }, 401, failed},
		{"fail/wrong-rp-id-hash", func(k *softKey) { k.rpID = "evil.example" }, 401, failed},
		{"fail/no-user-verification", func(k *softKey) { k.flags = flagUP }, 401, failed},
		{"fail/no-user-presence", func(k *softKey) { k.flags = flagUV }, 401, failed},
		{"fail/signed-by-another-key", func(k *softKey) { k.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }, 401, failed},
		{"fail/user-handle-of-another-account", func(k *softKey) { k.userHandle = []byte(b.ID) }, 401, failed},
		{"fail/unknown-credential", func(k *softKey) { k.credID = []byte("a credential nobody registered") }, 401, unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := *ka
			tc.spoil(&k)
			st, body := f.browser(srv).passkeyLogin(&k, "")
			f.wantProblem(t, st, body, tc.status, tc.key)
			// A's own passkey still works (and clears the failure count).
			ka.count = k.count
			if st, body := f.browser(srv).passkeyLogin(ka, ""); st != http.StatusOK {
				t.Fatalf("A's own passkey after the refusal: %d %s", st, body)
			}
		})
	}

	t.Run("fail/another-accounts-challenge-answer", func(t *testing.T) {
		// B's credential answered with A's user handle: a passkey opens only its own account.
		k := *kb
		k.userHandle = []byte(a.ID)
		st, body := f.browser(srv).passkeyLogin(&k, "")
		f.wantProblem(t, st, body, http.StatusUnauthorized, failed)
	})
	t.Run("fail/wrong-challenge", func(t *testing.T) {
		br := f.browser(srv)
		tok, c := br.begin("/login", "/login/passkey/begin")
		other := c
		other.PublicKey.Challenge = b64.EncodeToString(bytes.Repeat([]byte{7}, 32))
		st, body := br.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": ka.get(other)})
		f.wantProblem(t, st, body, http.StatusUnauthorized, failed)
	})
	t.Run("fail/replayed-challenge", func(t *testing.T) {
		br := f.browser(srv)
		tok, c := br.begin("/login", "/login/passkey/begin")
		req := map[string]any{"flow": c.Flow, "credential": ka.get(c)}
		if st, body := br.postJSON(tok, "/login/passkey/finish", req); st != http.StatusOK {
			t.Fatalf("first answer: %d %s", st, body)
		}
		st, body := br.postJSON(br.token("/login?force=1"), "/login/passkey/finish", req)
		f.wantProblem(t, st, body, http.StatusBadRequest, expired)
		// A refused answer spends the challenge too: no second try on it.
		tok, c = br.begin("/login?force=1", "/login/passkey/begin")
		wrong := *ka
		wrong.origin = "http://evil.example"
		st, body = br.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": wrong.get(c)})
		f.wantProblem(t, st, body, http.StatusUnauthorized, failed)
		st, body = br.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": ka.get(c)})
		f.wantProblem(t, st, body, http.StatusBadRequest, expired)
	})
	t.Run("fail/challenge-of-another-browser", func(t *testing.T) {
		victim := f.browser(srv)
		_, c := victim.begin("/login", "/login/passkey/begin")
		attacker := f.browser(srv)
		st, body := attacker.postJSON(attacker.token("/login"), "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": ka.get(c)})
		f.wantProblem(t, st, body, http.StatusBadRequest, expired)
	})
	t.Run("fail/expired-challenge", func(t *testing.T) {
		br := f.browser(srv)
		tok, c := br.begin("/login", "/login/passkey/begin")
		f.clock.Advance(5*time.Minute + time.Second)
		st, body := br.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": ka.get(c)})
		f.wantProblem(t, st, body, http.StatusBadRequest, expired)
	})
	t.Run("fail/sign-count-regression", func(t *testing.T) {
		ka.count = 50
		if st, body := f.browser(srv).passkeyLogin(ka, ""); st != http.StatusOK {
			t.Fatalf("count 50: %d %s", st, body)
		}
		clone := *ka
		clone.count = 20 // a copy of the key that fell behind
		st, body := f.browser(srv).passkeyLogin(&clone, "")
		f.wantProblem(t, st, body, http.StatusUnauthorized, "error.identity.passkey_cloned")
		clone.count = 51 - 1 // the same value again
		st, body = f.browser(srv).passkeyLogin(&clone, "")
		f.wantProblem(t, st, body, http.StatusUnauthorized, "error.identity.passkey_cloned")
		if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'identity.passkey.clone_refused' AND subject_id = ?`, a.ID); n != 2 {
			t.Fatalf("%d audit records of refused clones", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM account_events WHERE kind = 'passkey.refused' AND account_id = ?`, a.ID); n != 2 {
			t.Fatalf("%d history entries of refused clones", n)
		}
		if st, body := f.browser(srv).passkeyLogin(ka, ""); st != http.StatusOK {
			t.Fatalf("the real key after the clone: %d %s", st, body)
		}
	})
	t.Run("fail/locked-account", func(t *testing.T) {
		k := *ka
		k.origin = "http://evil.example"
		var st int
		var body []byte
		for range 5 {
			st, body = f.browser(srv).passkeyLogin(&k, "")
		}
		f.wantProblem(t, st, body, http.StatusTooManyRequests, "error.identity.locked", 60)
		st, body = f.browser(srv).passkeyLogin(ka, "")
		f.wantProblem(t, st, body, http.StatusTooManyRequests, "error.identity.locked", 60)
		// The same lock holds for the password.
		pw := f.browser(srv)
		if st, _, _ := pw.post("/login", "/login", url.Values{"username": {a.CitizenID}, "password": {"citizen password"}}, false); st != http.StatusTooManyRequests {
			t.Fatalf("password while locked: %d", st)
		}
		f.clock.Advance(2 * time.Minute)
		if st, body := f.browser(srv).passkeyLogin(ka, ""); st != http.StatusOK {
			t.Fatalf("after the lock: %d %s", st, body)
		}
	})
	t.Run("fail/disabled-account", func(t *testing.T) {
		police := f.officer(registry.Police, registry.PoliceOfficer, 0)
		pa, _ := f.reg.Person(f.ctx, b.CitizenID)
		if police.Area() != pa.UnitCode {
			if _, err := f.db.WritePool().ExecContext(f.ctx, f.db.Rebind(`UPDATE accounts SET status = 'disabled' WHERE id = ?`), b.ID); err != nil {
				t.Fatal(err)
			}
		} else if err := f.svc.SetStatus(f.ctx, police, b.CitizenID, identity.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		st, body := f.browser(srv).passkeyLogin(kb, "")
		f.wantProblem(t, st, body, http.StatusForbidden, "error.identity.account_disabled")
	})
	t.Run("fail/csrf-missing", func(t *testing.T) {
		br := f.browser(srv)
		tok, c := br.begin("/login", "/login/passkey/begin")
		for _, path := range []string{"/login/passkey/begin", "/login/passkey/finish", "/account/passkeys/begin", "/account/passkeys/finish"} {
			st, body := br.postJSON("", path, map[string]any{"flow": c.Flow, "credential": ka.get(c)})
			f.wantProblem(t, st, body, http.StatusForbidden, "error.csrf")
			st, body = br.postJSON(tok+"x", path, map[string]any{"flow": c.Flow, "credential": ka.get(c)})
			f.wantProblem(t, st, body, http.StatusForbidden, "error.csrf")
		}
		// The flow was not spent by the refused requests.
		if st, body := br.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": ka.get(c)}); st != http.StatusOK {
			t.Fatalf("the real answer after refused ones: %d %s", st, body)
		}
	})
	t.Run("fail/malformed-requests", func(t *testing.T) {
		br := f.browser(srv)
		tok, c := br.begin("/login", "/login/passkey/begin")
		for _, raw := range []string{`{not json`, `null`, `[]`, `{"flow":"` + c.Flow + `"}`, `{"flow":"short","credential":{}}`,
			`{"flow":"` + c.Flow + `","credential":"text"}`, `{"flow":"` + c.Flow + `","credential":{},"extra":1}`,
			`{"flow":"` + c.Flow + `","credential":{}} {}`} {
			st, body := br.postJSON(tok, "/login/passkey/finish", []byte(raw))
			f.wantProblem(t, st, body, http.StatusBadRequest, "error.identity.passkey_bad_request")
		}
		tok, c = br.begin("/login", "/login/passkey/begin")
		st, body := br.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": map[string]any{"id": "x", "type": "public-key"}})
		f.wantProblem(t, st, body, http.StatusBadRequest, "error.identity.passkey_bad_request")
		// Too big for a passkey answer.
		huge := `{"flow":"` + c.Flow + `","credential":{"id":"` + strings.Repeat("A", 70<<10) + `"}}`
		if st, _ := br.postJSON(tok, "/login/passkey/finish", []byte(huge)); st != http.StatusRequestEntityTooLarge {
			t.Fatalf("huge body: %d", st)
		}
		// Without a login, the account endpoints answer 401, not a redirect.
		st, body = br.postJSON(tok, "/account/passkeys/begin", map[string]any{})
		f.wantProblem(t, st, body, http.StatusUnauthorized, "error.unauthenticated")
	})
}

func TestPasskeyRegistrationRefused(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.web.Handler())
	defer srv.Close()
	f.clock.Set(time.Now())
	br, a := f.citizen(srv, 1)

	for _, tc := range []struct {
		name   string
		spoil  func(k *softKey)
		status int
		key    string
	}{
		{"fail/wrong-origin", func(k *softKey) { k.origin = "http://evil.example" }, 400, "error.identity.passkey_not_verified"},
		{"fail/wrong-rp-id-hash", func(k *softKey) { k.rpID = "evil.example" }, 400, "error.identity.passkey_not_verified"},
		{"fail/no-user-verification", func(k *softKey) { k.flags = flagUP }, 400, "error.identity.passkey_not_verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newSoftKey(t)
			tc.spoil(k)
			st, body := br.addPasskey(k, "phone")
			f.wantProblem(t, st, body, tc.status, tc.key)
		})
	}
	t.Run("fail/replayed-registration", func(t *testing.T) {
		other, _ := f.citizen(srv, 1)
		tok, c := other.begin("/account", "/account/passkeys/begin")
		req := map[string]any{"flow": c.Flow, "name": "once", "credential": newSoftKey(t).create(c)}
		if st, body := other.postJSON(tok, "/account/passkeys/finish", req); st != http.StatusOK {
			t.Fatalf("first answer: %d %s", st, body)
		}
		st, body := other.postJSON(tok, "/account/passkeys/finish", req)
		f.wantProblem(t, st, body, http.StatusBadRequest, "error.identity.passkey_expired")
	})
	t.Run("fail/no-name", func(t *testing.T) {
		st, body := br.addPasskey(newSoftKey(t), " \t ")
		f.wantProblem(t, st, body, http.StatusBadRequest, "error.identity.passkey_name", 64)
	})
	t.Run("fail/flow-of-another-account", func(t *testing.T) {
		other, _ := f.citizen(srv, 1)
		_, c := other.begin("/account", "/account/passkeys/begin")
		st, body := br.postJSON(br.token("/account"), "/account/passkeys/finish", map[string]any{"flow": c.Flow, "name": "x", "credential": newSoftKey(t).create(c)})
		f.wantProblem(t, st, body, http.StatusBadRequest, "error.identity.passkey_expired")
	})
	if n := f.count(`SELECT COUNT(*) FROM passkeys WHERE account_id = ?`, a.ID); n != 0 {
		t.Fatalf("%d passkeys stored by refused registrations", n)
	}

	// Once the account has a passkey, a password-only session may neither
	// add nor remove one: a stolen password must not plant a passkey.
	if st, body := br.addPasskey(newSoftKey(t), "first"); st != http.StatusOK {
		t.Fatalf("first passkey: %d %s", st, body)
	}
	_, _, page := br.get("/account")
	if !strings.Contains(page, `id="passkey-needs-mfa"`) || strings.Contains(page, `id="passkey-register"`) || passkeyIDField.MatchString(page) {
		t.Fatal("a password-only session is offered passkey changes")
	}
	st, body := br.postJSON(br.token("/account"), "/account/passkeys/begin", map[string]any{})
	f.wantProblem(t, st, body, http.StatusForbidden, "error.identity.passkey_two_factors")
	var id string
	if err := f.db.QueryRow(f.ctx, `SELECT id FROM passkeys WHERE account_id = ?`, a.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := br.post("/account", "/account/passkeys/remove", url.Values{"passkey": {id}}, false); st != http.StatusForbidden {
		t.Fatalf("remove from a password-only session: %d", st)
	}
}

func TestPasskeyAccessRules(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.web.Handler())
	defer srv.Close()
	f.clock.Set(time.Now())

	ba, a := f.citizen(srv, 1)
	if st, body := ba.addPasskey(newSoftKey(t), "Secret name of A"); st != http.StatusOK {
		t.Fatalf("register A: %d %s", st, body)
	}
	var idA string
	if err := f.db.QueryRow(f.ctx, `SELECT id FROM passkeys WHERE account_id = ?`, a.ID).Scan(&idA); err != nil {
		t.Fatal(err)
	}
	bb, _ := f.citizen(srv, 1)
	// B does not see A's passkeys ...
	if _, _, page := bb.get("/account"); strings.Contains(page, "Secret name of A") || strings.Contains(page, idA) {
		t.Fatal("B's account page shows A's passkey")
	}
	// ... cannot remove them ...
	st, _, page := bb.post("/account", "/account/passkeys/remove", url.Values{"passkey": {idA}}, false)
	if st != http.StatusNotFound || !strings.Contains(page, f.web.Catalog().T("vi", "error.identity.passkey_not_found")) {
		t.Fatalf("B removes A's passkey: %d", st)
	}
	if n := f.count(`SELECT COUNT(*) FROM passkeys WHERE id = ?`, idA); n != 1 {
		t.Fatal("A's passkey was removed by B")
	}
	// ... and nobody removes one without the CSRF token or without a login.
	if st, _, _ := ba.post("", "/account/passkeys/remove", url.Values{"passkey": {idA}}, true); st != http.StatusForbidden {
		t.Fatalf("remove without CSRF token: %d", st)
	}
	anon := f.browser(srv)
	if st, loc, _ := anon.post("/login", "/account/passkeys/remove", url.Values{"passkey": {idA}}, false); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("anonymous remove: %d %s", st, loc)
	}
	if n := f.count(`SELECT COUNT(*) FROM passkeys WHERE id = ?`, idA); n != 1 {
		t.Fatal("A's passkey was removed")
	}
}

// TestPasskeyResetRemovesPasskeys: a lost phone reset at a support point
// takes the passkeys with the authenticator app.
func TestPasskeyResetRemovesPasskeys(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.web.Handler())
	defer srv.Close()
	f.clock.Set(time.Now())
	police := f.officer(registry.Police, registry.PoliceOfficer, 0)
	p := f.person("unit_code = ? AND birth_date < '1990-01-01' AND citizen_id NOT IN (SELECT citizen_id FROM accounts)", police.Area())
	a, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: 2, Password: "citizen password"})
	if err != nil {
		t.Fatal(err)
	}
	br := f.browser(srv)
	br.login(a.CitizenID, "citizen password", "")
	k := newSoftKey(t)
	if st, body := br.addPasskey(k, "lost phone"); st != http.StatusOK {
		t.Fatalf("register: %d %s", st, body)
	}
	issued, err := f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: p.CitizenID,
		Checks:  identity.Checks{ChipRead: true, ChipSerial: "C123", FaceMatch: true, Fingerprint: "match", OfficerAttest: true},
		Contact: identity.ContactLetter, Reset: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: issued.Code, Password: "a new password"}); err != nil {
		t.Fatal(err)
	}
	st, body := f.browser(srv).passkeyLogin(k, "")
	f.wantProblem(t, st, body, http.StatusUnauthorized, "error.identity.passkey_unknown")
}
