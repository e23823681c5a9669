package notify_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/notify"
)

func TestInboxPages(t *testing.T) {
	e := newEnv(t)
	e.notice("acct-1")
	e.notice("acct-1")
	e.notice("acct-3")
	srv := e.serve()
	anon := newBrowser(t, srv, "")
	one := newBrowser(t, srv, "acct-1")
	three := newBrowser(t, srv, "acct-3")
	var ids []string
	for _, m := range regexp.MustCompile(`id="msg-([a-z0-9]+)"`).FindAllStringSubmatch(func() string { _, _, p := one.get("/inbox"); return p }(), -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 2 {
		t.Fatalf("acct-1 sees %d messages", len(ids))
	}
	tests := []struct {
		name     string
		b        *browser
		method   string
		path     string
		form     url.Values
		status   int
		want     []string
		notWant  []string
		location string
	}{
		{"fail/anonymous to the login", anon, "GET", "/inbox", nil, http.StatusSeeOther, nil, nil, "/login?next=%2Finbox"},
		{"fail/anonymous posts without a session are refused", anon, "POST", "/inbox/read-all", url.Values{}, http.StatusForbidden, nil, nil, ""},
		{"ok/the inbox in Vietnamese", one, "GET", "/inbox?lang=vi", nil, http.StatusOK,
			[]string{`lang="vi"`, "Hộp thư", "Bạn có 2 tin chưa đọc.", "Tin nhắn thử", `id="channel-sms" checked`}, nil, ""},
		{"ok/the inbox in English", one, "GET", "/inbox?lang=en", nil, http.StatusOK,
			[]string{`lang="en"`, "You have 2 unread messages.", "Test message", "This is a test message from the operator (N)"}, nil, ""},
		{"ok/the inbox in Arabic, right to left", one, "GET", "/inbox?lang=ar", nil, http.StatusOK,
			[]string{`dir="rtl"`, "صندوق الوارد", "رسالة تجريبية"}, nil, ""},
		{"fail/another person's message is not found", three, "POST", "/inbox/read", url.Values{"id": {ids[0]}}, http.StatusNotFound, nil, nil, ""},
		{"ok/mark one read", one, "POST", "/inbox/read", url.Values{"id": {ids[0]}}, http.StatusSeeOther, nil, nil, "/inbox?done=read"},
		{"ok/one left unread", one, "GET", "/inbox?lang=en&done=read", nil, http.StatusOK, []string{"Marked as read.", "You have 1 unread messages."}, nil, ""},
		{"ok/mark it read again is fine", one, "POST", "/inbox/read", url.Values{"id": {ids[0]}}, http.StatusSeeOther, nil, nil, "/inbox?done=read"},
		{"fail/an invalid address", one, "POST", "/inbox/channels", url.Values{"email": {"1"}, "email_address": {"not an address"}, "lang": {"en"}},
			http.StatusBadRequest, []string{`id="error"`, `value="not an address"`}, nil, ""},
		{"ok/choose e-mail in English", one, "POST", "/inbox/channels", url.Values{"email": {"1"}, "email_address": {"an@example.vn"}, "lang": {"en"}},
			http.StatusSeeOther, nil, nil, "/inbox?done=saved#channels"},
		{"ok/the choice shows", one, "GET", "/inbox?lang=en", nil, http.StatusOK,
			[]string{`id="channel-email" checked`, `value="an@example.vn"`, `<option value="en" lang="en" dir="ltr" selected>`}, []string{`id="channel-sms" checked`}, ""},
		{"ok/mark all read", one, "POST", "/inbox/read-all", url.Values{}, http.StatusSeeOther, nil, nil, "/inbox?done=read"},
		{"ok/all read", one, "GET", "/inbox?lang=en", nil, http.StatusOK, []string{"You have read all your messages."}, []string{`id="read-all"`}, ""},
		{"ok/the other inbox is untouched", three, "GET", "/inbox?lang=en", nil, http.StatusOK, []string{"You have 1 unread messages."}, nil, ""},
		{"fail/no demo outbox with a real driver", anon, "GET", "/demo/sms", nil, http.StatusNotFound, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var loc, body string
			if tt.method == "GET" {
				status, loc, body = tt.b.get(tt.path)
			} else {
				status, loc, body = tt.b.post(tt.path, tt.form)
			}
			if status != tt.status || loc != tt.location {
				t.Fatalf("%s %s: %d %q, want %d %q\n%s", tt.method, tt.path, status, loc, tt.status, tt.location, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
}

func TestInboxPaging(t *testing.T) {
	e := newEnv(t)
	for range notify.InboxPage + 3 {
		e.notice("acct-2")
	}
	in, err := e.s.Inbox(e.as("acct-2"), "en", "")
	if err != nil || len(in.Messages) != notify.InboxPage || in.Older == "" || in.Unread != notify.InboxPage+3 {
		t.Fatalf("first page: %d messages, older %q, unread %d, %v", len(in.Messages), in.Older, in.Unread, err)
	}
	next, err := e.s.Inbox(e.as("acct-2"), "en", in.Older)
	if err != nil || len(next.Messages) != 3 || next.Older != "" {
		t.Fatalf("second page: %d messages, older %q, %v", len(next.Messages), next.Older, err)
	}
	seen := map[string]bool{}
	for _, m := range append(in.Messages, next.Messages...) {
		if seen[m.ID] {
			t.Fatalf("message %s on both pages", m.ID)
		}
		seen[m.ID] = true
	}
}

func TestDemoOutboxPage(t *testing.T) {
	e := newEnv(t)
	box := &notify.DemoOutbox{DB: e.d, Clock: e.clock}
	e.s = e.service(box)
	srv := e.serve()
	if err := e.s.Send(e.ctx, notify.Message{Kind: notify.KindCode, Phone: "0912345678", Lang: "en", Template: "notify.code.generic", Args: []string{"246810", "10"}}); err != nil {
		t.Fatal(err)
	}
	status, _, body := newBrowser(t, srv, "").get("/demo/sms?lang=en")
	if status != http.StatusOK || !strings.Contains(body, "Demo SMS outbox") || !strings.Contains(body, "Your code is 246810") {
		t.Fatalf("demo outbox: %d\n%s", status, body)
	}
	// The number shows by its last three digits.
	if !strings.Contains(body, "<td>••••678</td>") || strings.Contains(body, "912345678") {
		t.Fatalf("demo outbox shows the number:\n%s", body)
	}
	// Even in the demo, the code never reaches the log.
	if strings.Contains(e.logs.String(), "246810") {
		t.Fatal("the code is in the log")
	}
}
