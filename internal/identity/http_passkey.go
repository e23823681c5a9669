package identity

import (
	"time"

	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// The passkey endpoints answer passkey.js (a static file of the web
// package) in JSON; their errors are RFC 9457 problem documents in the
// reader's language, because the script asks for JSON. Like every POST they
// need the session's CSRF token, which the script sends in X-CSRF-Token.

// maxPasskeyBody bounds a finish request: an attestation with a certificate
// chain is a few kilobytes.
const maxPasskeyBody = 64 << 10

// passkeyStart is the answer of the begin endpoints.
type passkeyStart struct {
	Flow      string `json:"flow"`
	PublicKey any    `json:"publicKey"`
}

// passkeyDone is the answer of the finish endpoints: where to go next.
type passkeyDone struct {
	Redirect string `json:"redirect"`
}

// passkeyFinish is what passkey.js posts to the finish endpoints.
type passkeyFinish struct {
	Flow       string          `json:"flow"`
	Name       string          `json:"name"` // registration: the passkey's name
	Next       string          `json:"next"` // login: the page to go to
	ACR        string          `json:"acr"`  // login: the assurance asked for
	Credential json.RawMessage `json:"credential"`
}

// parsePasskeyFinish reads a finish request: one JSON object of the members
// above, with a flow ID and a credential object. Anything else is a 400 with
// a message the reader can act on.
func parsePasskeyFinish(body []byte) (passkeyFinish, error) {
	var f passkeyFinish
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return passkeyFinish{}, errPasskeyBadRequest().WithCause(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return passkeyFinish{}, errPasskeyBadRequest()
	}
	if !validFlow(f.Flow) || len(f.Credential) == 0 || f.Credential[0] != '{' {
		return passkeyFinish{}, errPasskeyBadRequest()
	}
	return f, nil
}

// readPasskeyFinish reads and parses the body of a finish request.
func readPasskeyFinish(w http.ResponseWriter, r *http.Request) (passkeyFinish, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPasskeyBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return passkeyFinish{}, mbe
		}
		return passkeyFinish{}, errPasskeyBadRequest().WithCause(err)
	}
	return parsePasskeyFinish(body)
}

// signedInJSON is signedIn for the script's requests: without a login it
// answers 401 instead of redirecting to the login page.
func (h *handlers) signedInJSON(w http.ResponseWriter, r *http.Request) (*web.Session, Account, bool) {
	sess, a, err := h.current(r)
	if err != nil {
		h.fail(w, r, err)
		return nil, Account{}, false
	}
	return sess, a, true
}

func (h *handlers) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.signedInJSON(w, r)
	if !ok {
		return
	}
	c, err := h.svc.BeginPasskeyRegistration(r.Context(), a.ID, sess.ID(), sess.AMR)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, passkeyStart{Flow: c.Flow, PublicKey: c.Options})
}

func (h *handlers) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.signedInJSON(w, r)
	if !ok {
		return
	}
	f, err := readPasskeyFinish(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, err = h.svc.FinishPasskeyRegistration(r.Context(), PasskeyRegistration{AccountID: a.ID, Session: sess.ID(), AMR: sess.AMR,
		Flow: f.Flow, Name: f.Name, Response: f.Credential})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, passkeyDone{Redirect: "/account?done=passkey_added"})
}

// passkeyRemove is a plain form: removing works without JavaScript.
func (h *handlers) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.afterAction(w, r, h.svc.RemovePasskey(r.Context(), a.ID, sess.AMR, r.PostFormValue("passkey")), "passkey_removed")
}

func (h *handlers) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	sess, err := h.web.Session(r) // the CSRF check found one
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.svc.BeginPasskeyLogin(r.Context(), sess.ID())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, passkeyStart{Flow: c.Flow, PublicKey: c.Options})
}

func (h *handlers) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	sess, err := h.web.Session(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := readPasskeyFinish(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.svc.FinishPasskeyLogin(r.Context(), PasskeyLogin{Session: sess.ID(), Flow: f.Flow, Response: f.Credential,
		WantACR: wantACR(f.ACR), Client: web.ClientAddr(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.web.StartLogin(w, r, web.Login{AccountID: res.Account.ID, ACR: res.ACR, AMR: res.AMR}); err != nil {
		h.fail(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, passkeyDone{Redirect: safeNext(f.Next, "/account")})
}

// passkeyView is a passkey as the account page lists it; the times are
// RFC 3339, which the page writes for people with $.DateTime.
type passkeyView struct {
	ID, Name, Created, LastUsed string
}

func passkeyViews(ps []Passkey) []passkeyView {
	out := make([]passkeyView, len(ps))
	for i, p := range ps {
		out[i] = passkeyView{ID: p.ID, Name: p.Name, Created: p.CreatedAt.Format(time.RFC3339)}
		if !p.LastUsedAt.IsZero() {
			out[i].LastUsed = p.LastUsedAt.Format(time.RFC3339)
		}
	}
	return out
}

// errSignedOut is the answer to a script's request without a login.
func errSignedOut() error { return kernel.E(kernel.Unauthenticated, "error.unauthenticated") }
