package identity

import (
	"context"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/web"

	"rsc.io/qr"
)

//go:embed templates/*.html
var templateFS embed.FS

// App is a relying party the citizen gave data to, for "connected apps".
type App struct {
	ClientID  string
	Name      string
	Purpose   string
	Scopes    []string
	GrantedAt time.Time
}

// Apps is the OpenID Provider seen from the account page.
type Apps interface {
	Grants(ctx context.Context, accountID string) ([]App, error)
	RevokeGrant(ctx context.Context, accountID, clientID string) error
}

// MountOptions are the collaborators of the HTML pages.
type MountOptions struct {
	Apps Apps // may be nil: no connected-apps section
}

// handlers are the HTML pages of e-ID accounts.
type handlers struct {
	svc   *Service
	web   *web.Server
	pages *web.Pages
	apps  Apps
}

// Mount registers the account pages on the web server.
func (s *Service) Mount(ws *web.Server, o MountOptions) error {
	pages, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	h := &handlers{svc: s, web: ws, pages: pages, apps: o.Apps}
	s.usePasskeysAt(ws.PublicURL())
	ws.HandleFunc("GET /login", h.loginForm)
	ws.HandleFunc("POST /login", h.login)
	ws.HandleFunc("POST /logout", h.logout)
	ws.HandleFunc("POST /login/passkey/begin", h.passkeyLoginBegin)
	ws.HandleFunc("POST /login/passkey/finish", h.passkeyLoginFinish)
	ws.HandleFunc("GET /register", h.registerForm)
	ws.HandleFunc("POST /register", h.register)
	ws.HandleFunc("POST /register/verify", h.registerVerify)
	ws.HandleFunc("GET /activate", h.activateForm)
	ws.HandleFunc("POST /activate", h.activate)
	ws.HandleFunc("GET /account", h.account)
	ws.HandleFunc("GET /account/history", h.history)
	ws.HandleFunc("POST /account/password", h.changePassword)
	ws.HandleFunc("GET /account/totp", h.totpForm)
	ws.HandleFunc("POST /account/totp", h.totpConfirm)
	ws.HandleFunc("POST /account/totp/disable", h.totpDisable)
	ws.HandleFunc("POST /account/recovery-codes", h.recoveryCodes)
	ws.HandleFunc("POST /account/passkeys/begin", h.passkeyRegisterBegin)
	ws.HandleFunc("POST /account/passkeys/finish", h.passkeyRegisterFinish)
	ws.HandleFunc("POST /account/passkeys/remove", h.passkeyRemove)
	ws.HandleFunc("POST /account/sessions", h.endSessions)
	ws.HandleFunc("POST /account/apps/revoke", h.revokeApp)
	ws.HandleFunc("POST /account/dependents", h.addDependent)
	ws.HandleFunc("POST /account/act-for", h.actFor)
	ws.HandleFunc("POST /account/organisations", h.registerOrg)
	ws.HandleFunc("GET /account/organisations/{id}", h.organisation)
	ws.HandleFunc("POST /account/organisations/{id}/members", h.addMember)
	ws.HandleFunc("POST /account/organisations/{id}/members/remove", h.removeMember)
	ws.HandleFunc("GET /officer", h.officer)
	ws.HandleFunc("GET /officer/enrol", h.enrolForm)
	ws.HandleFunc("POST /officer/enrol", h.enrol)
	ws.HandleFunc("POST /officer/guardian", h.recordGuardian)
	ws.HandleFunc("POST /officer/account-status", h.setStatus)
	return nil
}

// message turns an error a person can act on into text in their language,
// with Retry-After when it asks them to come back later. Anything else (an
// internal error) is rendered as the error page, and ok is false: the
// handler must stop.
func (h *handlers) message(w http.ResponseWriter, r *http.Request, err error) (msg string, status int, ok bool) {
	switch code := kernel.ErrorCode(err); code {
	case kernel.Invalid, kernel.Unauthenticated, kernel.Forbidden, kernel.NotFound, kernel.Conflict, kernel.TooManyRequests, kernel.Unavailable:
		key, args := kernel.ErrorKey(err)
		status := map[kernel.Code]int{kernel.Invalid: 400, kernel.Unauthenticated: 401, kernel.Forbidden: 403,
			kernel.NotFound: 404, kernel.Conflict: 409, kernel.TooManyRequests: 429, kernel.Unavailable: 503}[code]
		setRetryAfter(w, err)
		return h.web.T(r, key, args...), status, true
	}
	h.fail(w, r, err)
	return "", 0, false
}

// fail answers the request with err (a page, or a problem document for
// scripts), with Retry-After when err asks to come back later.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	setRetryAfter(w, err)
	h.web.Error(w, r, err)
}

// setRetryAfter tells a client refused for now when to come back (RFC 9110,
// section 10.2.3): a lock of guesses (429) says how long it lasts in its
// first argument, as does a full line of hashes (503).
func setRetryAfter(w http.ResponseWriter, err error) {
	switch kernel.ErrorCode(err) {
	case kernel.TooManyRequests, kernel.Unavailable:
	default:
		return
	}
	secs := 60
	if _, args := kernel.ErrorKey(err); len(args) > 0 {
		if n, ok := args[0].(int); ok && n > 0 {
			secs = n
		}
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// safeNext keeps a redirect target on this site: a path, never a scheme,
// host or protocol-relative URL.
func safeNext(next, def string) string {
	if next == "" || len(next) > 4096 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\t") {
		return def
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return def
	}
	return next
}

func wantACR(v string) string {
	switch v {
	case kernel.ACRLevel2, "level2", "2":
		return kernel.ACRLevel2
	}
	return kernel.ACRLevel1
}

func acrRank(acr string) int {
	if acr == kernel.ACRLevel2 {
		return 2
	}
	if acr == kernel.ACRLevel1 {
		return 1
	}
	return 0
}

// loginData is the login page.
type loginData struct {
	Next, ACR, Username, Error string
	Force, NeedOTP, Level2     bool
	Passkeys                   bool // offer "Sign in with a passkey"
}

func (h *handlers) loginForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := loginData{Next: safeNext(q.Get("next"), "/account"), ACR: wantACR(q.Get("acr")), Force: q.Get("force") == "1",
		Passkeys: h.svc.PasskeysAvailable()}
	d.Level2 = d.ACR == kernel.ACRLevel2
	if sess, err := h.web.Session(r); err == nil && sess.AccountID != "" {
		if !d.Force && acrRank(sess.ACR) >= acrRank(d.ACR) {
			http.Redirect(w, r, d.Next, http.StatusSeeOther)
			return
		}
		if a, err := h.svc.Account(r.Context(), sess.AccountID); err == nil {
			d.Username = a.CitizenID
			d.NeedOTP = a.HasTOTP
		}
	}
	h.pages.Render(w, r, http.StatusOK, "login", d)
}

func (h *handlers) login(w http.ResponseWriter, r *http.Request) {
	d := loginData{Next: safeNext(r.PostFormValue("next"), "/account"), ACR: wantACR(r.PostFormValue("acr")),
		Username: strings.TrimSpace(r.PostFormValue("username")), Force: r.PostFormValue("force") == "1",
		Passkeys: h.svc.PasskeysAvailable()}
	d.Level2 = d.ACR == kernel.ACRLevel2
	res, err := h.svc.Login(r.Context(), Credentials{CitizenID: d.Username, Password: r.PostFormValue("password"),
		OTP: r.PostFormValue("otp"), WantACR: d.ACR, Client: web.ClientAddr(r), Lang: web.LangFrom(r.Context())})
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if !ok {
			return
		}
		d.Error, d.NeedOTP = msg, IsOTPRequired(err)
		h.pages.Render(w, r, status, "login", d)
		return
	}
	if _, err := h.web.StartLogin(w, r, web.Login{AccountID: res.Account.ID, ACR: res.ACR, AMR: res.AMR}); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (h *handlers) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.web.SignOut(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signedIn returns the logged-in account, or redirects to the login page
// (and returns ok false).
func (h *handlers) signedIn(w http.ResponseWriter, r *http.Request) (*web.Session, Account, bool) {
	sess, a, err := h.current(r)
	if err == nil {
		return sess, a, true
	}
	if kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.fail(w, r, err)
		return nil, Account{}, false
	}
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = "/account"
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	return nil, Account{}, false
}

// current returns the request's session and its active account (the web
// session middleware already made the account the acting person). Without a
// login it fails with an Unauthenticated error.
func (h *handlers) current(r *http.Request) (*web.Session, Account, error) {
	sess, err := h.web.Session(r)
	if err != nil {
		return nil, Account{}, err
	}
	if sess.AccountID == "" {
		return nil, Account{}, errSignedOut()
	}
	a, err := h.svc.Account(r.Context(), sess.AccountID)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && a.Status != StatusActive {
		return nil, Account{}, errSignedOut()
	}
	if err != nil {
		return nil, Account{}, err
	}
	return sess, a, nil
}

// registerData is the registration pages.
type registerData struct {
	Form               Registration
	Error              string
	Token, MaskedPhone string
}

func (h *handlers) registerForm(w http.ResponseWriter, r *http.Request) {
	h.pages.Render(w, r, http.StatusOK, "register", registerData{})
}

func (h *handlers) register(w http.ResponseWriter, r *http.Request) {
	f := Registration{CitizenID: r.PostFormValue("citizen_id"), FullName: r.PostFormValue("full_name"),
		BirthDate: r.PostFormValue("birth_date"), Phone: r.PostFormValue("phone"), Client: web.ClientAddr(r)}
	p, err := h.svc.StartRegistration(r.Context(), f)
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if ok {
			h.pages.Render(w, r, status, "register", registerData{Form: f, Error: msg})
		}
		return
	}
	h.pages.Render(w, r, http.StatusOK, "register_verify", registerData{Token: p.Token, MaskedPhone: p.MaskedPhone})
}

func (h *handlers) registerVerify(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("flow")
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password_again")
	d := registerData{Token: token, MaskedPhone: r.PostFormValue("masked_phone")}
	if pw != pw2 {
		d.Error = h.web.T(r, "identity.error.passwords_differ")
		h.pages.Render(w, r, http.StatusBadRequest, "register_verify", d)
		return
	}
	a, err := h.svc.CompleteRegistration(r.Context(), token, r.PostFormValue("code"), pw)
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if ok {
			d.Error = msg
			h.pages.Render(w, r, status, "register_verify", d)
		}
		return
	}
	if _, err := h.web.StartLogin(w, r, web.Login{AccountID: a.ID, ACR: kernel.ACRLevel1, AMR: []string{"pwd", "sms"}}); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?welcome=1", http.StatusSeeOther)
}

type activateData struct {
	CitizenID, Error string
}

func (h *handlers) activateForm(w http.ResponseWriter, r *http.Request) {
	h.pages.Render(w, r, http.StatusOK, "activate", activateData{})
}

func (h *handlers) activate(w http.ResponseWriter, r *http.Request) {
	d := activateData{CitizenID: strings.TrimSpace(r.PostFormValue("citizen_id"))}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_again") {
		d.Error = h.web.T(r, "identity.error.passwords_differ")
		h.pages.Render(w, r, http.StatusBadRequest, "activate", d)
		return
	}
	a, err := h.svc.Activate(r.Context(), Activation{CitizenID: d.CitizenID, Code: r.PostFormValue("code"), Password: pw,
		Client: web.ClientAddr(r)})
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if ok {
			d.Error = msg
			h.pages.Render(w, r, status, "activate", d)
		}
		return
	}
	// The activation proves the code and sets the password: a level-1
	// session; level 2 needs the second factor at the next login.
	if _, err := h.web.StartLogin(w, r, web.Login{AccountID: a.ID, ACR: kernel.ACRLevel1, AMR: []string{"pwd"}}); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?activated=1", http.StatusSeeOther)
}

// accountData is the account page.
type accountData struct {
	Account        Account
	Person         registry.Person
	Unit           string
	Correction     string // the agency that corrects registry data
	Session        *web.Session
	Sessions       []web.SessionInfo
	Events         []eventView
	Apps           []App
	HasApps        bool
	Dependents     []Dependent
	Claimable      []registry.Person
	Organisations  []Membership
	Posts          []Officer
	Acting         *Subject
	ActingPerson   *registry.Person // the dependent's registry entry while acting for a child
	RecoveryLeft   int
	Passkeys       []passkeyView
	PasskeysOn     bool // this site offers passkeys
	PasskeyChange  bool // this session may add and remove passkeys
	Notice, Error  string
	RecoveryCodes  []string
	Level2Session  bool
	CanAddChildren bool
}

func (h *handlers) account(w http.ResponseWriter, r *http.Request) {
	h.renderAccount(w, r, http.StatusOK, "", "", nil)
}

func (h *handlers) renderAccount(w http.ResponseWriter, r *http.Request, status int, notice, errMsg string, codes []string) {
	sess, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	d := accountData{Account: a, Session: sess, Notice: notice, Error: errMsg, RecoveryCodes: codes,
		HasApps: h.apps != nil, Level2Session: sess.ACR == kernel.ACRLevel2, CanAddChildren: a.Level == 2}
	switch {
	case notice != "":
	case r.URL.Query().Get("welcome") == "1":
		d.Notice = h.web.T(r, "identity.account.welcome")
	case r.URL.Query().Get("activated") == "1":
		d.Notice = h.web.T(r, "identity.account.activated")
	case doneNotices[r.URL.Query().Get("done")]:
		d.Notice = h.web.T(r, "identity.done."+r.URL.Query().Get("done"))
	}
	var err error
	if d.Person, err = h.svc.reg.Person(ctx, a.CitizenID); err != nil {
		h.fail(w, r, err)
		return
	}
	if u, err := h.svc.reg.Unit(ctx, d.Person.UnitCode); err == nil {
		d.Unit = u.Name
	}
	if ags, err := h.svc.reg.AgenciesIn(ctx, d.Person.UnitCode); err == nil {
		for _, ag := range ags {
			if ag.Kind == registry.Police {
				d.Correction = ag.Name
			}
		}
	}
	steps := []func() error{
		func() (err error) {
			d.Sessions, err = h.web.AccountSessions(ctx, a.ID, sess.ID())
			for i := range d.Sessions {
				d.Sessions[i].UserAgent = DeviceName(d.Sessions[i].UserAgent)
			}
			return
		},
		func() error {
			events, err := h.svc.History(ctx, a.ID, time.Time{}, 10)
			d.Events = h.eventViews(r, events)
			return err
		},
		func() (err error) { d.Dependents, err = h.svc.Dependents(ctx, a.ID); return },
		func() (err error) { d.Claimable, err = h.svc.Claimable(ctx, a.ID); return },
		func() (err error) { d.Organisations, err = h.svc.Organisations(ctx, a.ID); return },
		func() (err error) { d.Posts, err = h.svc.Posts(ctx, a.ID); return },
		func() (err error) { d.RecoveryLeft, err = h.svc.RecoveryCodesLeft(ctx, a.ID); return },
		func() error {
			ps, err := h.svc.Passkeys(ctx, a.ID)
			d.Passkeys, d.PasskeysOn = passkeyViews(ps), h.svc.PasskeysAvailable()
			if err == nil {
				d.PasskeyChange, err = h.svc.CanChangePasskeys(ctx, a, sess.AMR)
			}
			return err
		},
		func() (err error) {
			if h.apps != nil {
				d.Apps, err = h.apps.Grants(ctx, a.ID)
			}
			return
		},
		func() error {
			if sess.ActingFor == "" {
				return nil
			}
			subj, err := h.svc.ActFor(ctx, a.ID, sess.ActingFor)
			if kernel.ErrorCode(err) == kernel.Forbidden { // the right ended: stop acting
				return h.web.SetActingFor(r, "")
			}
			if err != nil {
				return err
			}
			d.Acting = &subj
			if subj.Kind == "person" {
				p, err := h.svc.DependentProfile(ctx, a.ID, subj.ID)
				d.ActingPerson = &p
				return err
			}
			return nil
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.pages.Render(w, r, status, "account", d)
}

// doneNotices are the outcomes afterAction may announce.
var doneNotices = map[string]bool{"password": true, "totp_disabled": true, "sessions": true, "app_revoked": true,
	"dependent": true, "acting": true, "organisation": true, "passkey_added": true, "passkey_removed": true}

// afterAction renders the account page with the outcome of a form.
func (h *handlers) afterAction(w http.ResponseWriter, r *http.Request, err error, noticeKey string) {
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if ok {
			h.renderAccount(w, r, status, "", msg, nil)
		}
		return
	}
	http.Redirect(w, r, "/account?done="+url.QueryEscape(noticeKey), http.StatusSeeOther)
}

func (h *handlers) changePassword(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("new_password") != r.PostFormValue("new_password_again") {
		h.renderAccount(w, r, http.StatusBadRequest, "", h.web.T(r, "identity.error.passwords_differ"), nil)
		return
	}
	err := h.svc.ChangePassword(r.Context(), a.ID, r.PostFormValue("password"), r.PostFormValue("new_password"))
	h.afterAction(w, r, err, "password")
}

type totpData struct {
	Setup TOTPSetup
	Error string
}

// QR is the key URI as a QR code (a data: URL of a PNG), for a reader who
// opens the page on a computer and scans it with the phone's app.
func (d totpData) QR() template.URL {
	if d.Setup.URI == "" {
		return ""
	}
	c, err := qr.Encode(d.Setup.URI, qr.M)
	if err != nil {
		return ""
	}
	c.Scale = 5
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG()))
}

func (h *handlers) totpForm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	setup, err := h.svc.BeginTOTP(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "totp", totpData{Setup: setup})
}

func (h *handlers) totpConfirm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	sealedSetup := r.PostFormValue("setup")
	codes, err := h.svc.ConfirmTOTP(r.Context(), a.ID, sealedSetup, r.PostFormValue("otp"))
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if !ok {
			return
		}
		// Offer the same seed again: the app already holds it.
		d := totpData{Error: msg, Setup: TOTPSetup{Sealed: sealedSetup}}
		if secret, err := h.svc.openSetup(a.ID, sealedSetup); err == nil {
			d.Setup.Text, d.Setup.URI = TOTPSecretText(secret), TOTPKeyURI(secret, h.svc.issuer, a.CitizenID)
		}
		h.pages.Render(w, r, status, "totp", d)
		return
	}
	h.renderAccount(w, r, http.StatusOK, h.web.T(r, "identity.totp.enabled"), "", codes)
}

func (h *handlers) totpDisable(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.afterAction(w, r, h.svc.DisableTOTP(r.Context(), a.ID, r.PostFormValue("password")), "totp_disabled")
}

func (h *handlers) recoveryCodes(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	codes, err := h.svc.NewRecoveryCodes(r.Context(), a.ID, r.PostFormValue("password"))
	if err != nil {
		h.afterAction(w, r, err, "")
		return
	}
	h.renderAccount(w, r, http.StatusOK, h.web.T(r, "identity.recovery.renewed"), "", codes)
}

func (h *handlers) endSessions(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("session")
	if id == sess.ID() {
		id = ""
	}
	_, err := h.web.EndSessions(r.Context(), a.ID, id, sess.ID())
	if err == nil {
		err = h.svc.recordNow(r.Context(), a.ID, "sessions.ended", nil)
	}
	h.afterAction(w, r, err, "sessions")
}

func (h *handlers) revokeApp(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if h.apps == nil {
		h.fail(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	h.afterAction(w, r, h.apps.RevokeGrant(r.Context(), a.ID, r.PostFormValue("client_id")), "app_revoked")
}

func (h *handlers) addDependent(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.afterAction(w, r, h.svc.AddDependent(r.Context(), a.ID, r.PostFormValue("citizen_id")), "dependent")
}

func (h *handlers) actFor(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	whom := r.PostFormValue("whom")
	var err error
	if whom != "" {
		var subj Subject
		if subj, err = h.svc.ActFor(r.Context(), a.ID, whom); err == nil {
			// The session acts for whom only from the next request: say so now.
			ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: a.ID, OnBehalfOf: whom})
			err = h.svc.recordNow(ctx, a.ID, "acting_for.start", map[string]string{"name": subj.Name})
		}
	}
	if err == nil {
		err = h.web.SetActingFor(r, whom)
	}
	h.afterAction(w, r, err, "acting")
}

func (h *handlers) history(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	var before time.Time
	if b := r.URL.Query().Get("before"); b != "" {
		t, err := time.Parse(time.RFC3339Nano, b)
		if err != nil {
			h.fail(w, r, kernel.E(kernel.Invalid, "error.invalid"))
			return
		}
		before = t
	}
	events, err := h.svc.History(r.Context(), a.ID, before, 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	more := ""
	if len(events) == 50 {
		more = "/account/history?before=" + url.QueryEscape(events[len(events)-1].At.Format(time.RFC3339Nano))
	}
	h.pages.Render(w, r, http.StatusOK, "history", struct {
		Events []eventView
		More   string
	}{h.eventViews(r, events), more})
}

func (h *handlers) registerOrg(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	_, err := h.svc.RegisterOrganisation(r.Context(), a.ID, r.PostFormValue("reg_number"))
	h.afterAction(w, r, err, "organisation")
}

type orgData struct {
	Org     Membership
	Members []Member
	Error   string
}

func (h *handlers) organisation(w http.ResponseWriter, r *http.Request) {
	h.renderOrg(w, r, http.StatusOK, "")
}

func (h *handlers) renderOrg(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	orgID := r.PathValue("id")
	orgs, err := h.svc.Organisations(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := orgData{Error: errMsg}
	for _, o := range orgs {
		if o.ID == orgID {
			d.Org = o
		}
	}
	if d.Org.ID == "" {
		h.fail(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	if d.Org.Role == RoleRepresentative {
		if d.Members, err = h.svc.Members(r.Context(), a.ID, orgID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.pages.Render(w, r, status, "organisation", d)
}

func (h *handlers) orgAction(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if ok {
			h.renderOrg(w, r, status, msg)
		}
		return
	}
	http.Redirect(w, r, "/account/organisations/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
}

func (h *handlers) addMember(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.orgAction(w, r, h.svc.AddMember(r.Context(), a.ID, r.PathValue("id"), r.PostFormValue("citizen_id")))
}

func (h *handlers) removeMember(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.orgAction(w, r, h.svc.RemoveMember(r.Context(), a.ID, r.PathValue("id"), r.PostFormValue("account_id")))
}

// eventView is a history entry as a page shows it.
type eventView struct {
	At, What, Client, ActingFor string
}

// eventKinds are the history entries with a label in the catalogue.
var eventKinds = map[string]bool{"login": true, "app.login": true, "consent.given": true, "consent.revoked": true,
	"account.created": true, "account.enrolled": true, "account.activated": true, "password.changed": true,
	"totp.enabled": true, "totp.disabled": true, "recovery_codes.renewed": true, "sessions.ended": true,
	"acting_for.start": true, "account.disabled": true, "account.active": true,
	"passkey.added": true, "passkey.removed": true, "passkey.refused": true, "login.guessed": true}

func (h *handlers) eventViews(r *http.Request, events []Event) []eventView {
	out := make([]eventView, len(events))
	for i, e := range events {
		what := e.Kind
		if eventKinds[e.Kind] {
			what = h.web.T(r, "identity.event."+e.Kind)
		}
		acting := ""
		if e.ActingFor != "" {
			acting = e.ActingFor[strings.IndexByte(e.ActingFor, ':')+1:]
		}
		out[i] = eventView{At: e.At.Format(time.RFC3339), What: what, Client: e.ClientID, ActingFor: acting}
	}
	return out
}

// DeviceName turns a User-Agent into what a person recognises: "Chrome on
// Android". Unknown parts are left out; an empty result means unknown.
func DeviceName(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"CocCoc", "Cốc Cốc"}, {"Zalo", "Zalo"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " · " + system
	case browser != "" || system != "":
		return browser + system
	}
	if len(ua) > 40 {
		return strings.ToValidUTF8(ua[:40], "") + "…"
	}
	return ua
}
