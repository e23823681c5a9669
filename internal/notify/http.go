package notify

import (
	"embed"
	"net/http"
	"net/url"

	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

type pages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
}

// Mount serves the inbox (/inbox: the messages, marking them read, the
// choice of channels) and, with the demo outbox, /demo/sms.
func (s *Service) Mount(ws *web.Server) error {
	ps, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	h := &pages{s: s, web: ws, pages: ps}
	ws.HandleFunc("GET /inbox", h.inbox)
	ws.HandleFunc("POST /inbox/read", h.read)
	ws.HandleFunc("POST /inbox/read-all", h.readAll)
	ws.HandleFunc("POST /inbox/channels", h.channels)
	if _, ok := s.DemoOutbox(); ok {
		ws.HandleFunc("GET /demo/sms", h.demoSMS)
	}
	return nil
}

// signedIn sends a reader who is not signed in to log in and come back.
func (h *pages) signedIn(w http.ResponseWriter, r *http.Request) bool {
	if a := kernel.ActorFrom(r.Context()); a.Kind == kernel.ActorCitizen && a.ID != "" {
		return true
	}
	next := "/inbox"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	return false
}

type inboxView struct {
	Messages []InboxMessage // their times written with {{$.DateTime}}
	Unread   int
	Older    string
	Channels Channels
	HasPhone bool
	Email    bool // e-mail can be sent at all
	Langs    []i18n.Lang
	Notice   string // catalogue key
	Error    string // translated
}

func (h *pages) inbox(w http.ResponseWriter, r *http.Request) {
	if !h.signedIn(w, r) {
		return
	}
	h.render(w, r, http.StatusOK, "", nil)
}

// render shows the inbox page; with a failed choice of channels, the
// error and the choice as sent.
func (h *pages) render(w http.ResponseWriter, r *http.Request, status int, errMsg string, sent *Channels) {
	ctx := r.Context()
	lang := web.LangFrom(ctx)
	in, err := h.s.Inbox(ctx, lang, r.URL.Query().Get("older"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	ch, hasPhone, err := h.s.Channels(ctx)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if sent != nil {
		ch = *sent
	}
	v := inboxView{Messages: in.Messages, Unread: in.Unread, Older: in.Older, Channels: ch, HasPhone: hasPhone, Email: h.s.EmailEnabled(),
		Langs: h.web.Catalog().Langs(), Error: errMsg}
	if v.Channels.Lang == "" {
		v.Channels.Lang = lang
	}
	switch r.URL.Query().Get("done") {
	case "read":
		v.Notice = "notify.inbox.marked"
	case "saved":
		v.Notice = "notify.channels.saved"
	}
	h.pages.Render(w, r, status, "inbox", v)
}

func (h *pages) read(w http.ResponseWriter, r *http.Request) {
	if !h.signedIn(w, r) {
		return
	}
	if err := h.s.MarkRead(r.Context(), r.PostFormValue("id")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/inbox?done=read", http.StatusSeeOther)
}

func (h *pages) readAll(w http.ResponseWriter, r *http.Request) {
	if !h.signedIn(w, r) {
		return
	}
	if err := h.s.MarkAllRead(r.Context()); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/inbox?done=read", http.StatusSeeOther)
}

func (h *pages) channels(w http.ResponseWriter, r *http.Request) {
	if !h.signedIn(w, r) {
		return
	}
	c := Channels{SMS: r.PostFormValue("sms") == "1", Email: r.PostFormValue("email") == "1",
		EmailAddress: r.PostFormValue("email_address"), Lang: r.PostFormValue("lang")}
	if !h.s.EmailEnabled() {
		c.Email = false
	}
	if err := h.s.SetChannels(r.Context(), c); err != nil {
		if kernel.ErrorCode(err) == kernel.Invalid {
			key, args := kernel.ErrorKey(err)
			r.URL.RawQuery = "" // the form, not a notice of a previous action
			h.render(w, r, http.StatusBadRequest, h.web.T(r, key, args...), &c)
			return
		}
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/inbox?done=saved#channels", http.StatusSeeOther)
}

// demoSMS is the demo outbox: the texts that would have been sent, the
// only place a demo code is shown.
func (h *pages) demoSMS(w http.ResponseWriter, r *http.Request) {
	box, _ := h.s.DemoOutbox()
	msgs, err := box.Recent(r.Context(), 30)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	for i := range msgs {
		msgs[i].Phone = MaskPhone(msgs[i].Phone)
	}
	h.pages.Render(w, r, http.StatusOK, "demo_sms", msgs)
}
