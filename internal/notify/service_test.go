package notify_test

import (
	"strings"
	"testing"

	"civitas/internal/kernel"
	"civitas/internal/notify"
)

// A one-time code goes out at once, to the right number, in the
// recipient's language, and leaves no trace: not in the logs, the outbox
// or the inbox.
func TestCodeIsSentNowAndStoredNowhere(t *testing.T) {
	e := newEnv(t)
	if err := e.s.SetChannels(e.as("acct-1"), notify.Channels{SMS: true, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		msg     notify.Message
		to      string
		want    string
		channel *recorder
	}{
		{"ok/to an account, in its language", notify.Message{Kind: notify.KindCode, AccountID: "acct-1", Template: "notify.code.generic", Args: []string{"481516", "5"}},
			"84912345678", "Your code is 481516 (valid for 5 minutes)", e.sms},
		{"ok/to a phone without an account, in Vietnamese", notify.Message{Kind: notify.KindCode, Phone: "0987.654.321", Template: "notify.code.generic", Args: []string{"234234", "10"}},
			"84987654321", "Mã xác thực của bạn là 234234", e.sms},
		{"ok/a text written whole", notify.Message{Kind: notify.KindCode, Phone: "+84 98 111 2233", Text: "civitas: mã 777888"},
			"84981112233", "civitas: mã 777888", e.sms},
		{"ok/by e-mail when there is no phone", notify.Message{Kind: notify.KindCode, Email: "an@example.vn", Lang: "ar", Template: "notify.code.generic", Args: []string{"909090", "5"}},
			"an@example.vn", "رمزك هو 909090", e.mail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.channel.all())
			if err := e.s.Send(e.ctx, tt.msg); err != nil {
				t.Fatal(err)
			}
			got := tt.channel.all()[before:]
			if len(got) != 1 || got[0].to != tt.to || !strings.Contains(got[0].text, tt.want) {
				t.Fatalf("sent %+v, want %q to %s", got, tt.want, tt.to)
			}
		})
	}
	for _, code := range []string{"481516", "234234", "777888", "909090"} {
		e.noTrace(code)
	}
	if n := e.count(`SELECT COUNT(*) FROM notify_outbox`) + e.count(`SELECT COUNT(*) FROM notify_inbox`); n != 0 {
		t.Fatalf("%d rows stored for codes", n)
	}
	if !strings.Contains(e.logs.String(), "to=…78") || strings.Contains(e.logs.String(), "912345678") {
		t.Fatalf("the log should name the phone by its last two digits only:\n%s", e.logs.String())
	}
}

func TestCodeFailures(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		msg  notify.Message
		fail error
		code kernel.Code
	}{
		{"fail/the driver fails", notify.Message{Kind: notify.KindCode, Phone: "0912345678", Text: "code 135790"}, errBusy, kernel.Unavailable},
		{"fail/no phone and no e-mail", notify.Message{Kind: notify.KindCode, AccountID: "acct-2", Text: "code 135790"}, nil, kernel.Invalid},
		{"fail/no recipient", notify.Message{Kind: notify.KindCode, Text: "code 135790"}, nil, kernel.Invalid},
		{"fail/a phone that is no number", notify.Message{Kind: notify.KindCode, Phone: "call me", Text: "code 135790"}, nil, kernel.Invalid},
		{"fail/a template not in the catalogue", notify.Message{Kind: notify.KindCode, Phone: "0912345678", Template: "notify.nope"}, nil, kernel.Internal},
		{"fail/an unknown kind", notify.Message{Kind: "shout", Phone: "0912345678", Text: "x"}, nil, kernel.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sms.setFail(tt.fail)
			defer e.sms.setFail(nil)
			if err := e.s.Send(e.ctx, tt.msg); kernel.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
		})
	}
	e.noTrace("135790")
}

// A notice lands in the inbox and is queued for each channel chosen: SMS
// by default when the account has a phone, e-mail once chosen.
func TestNoticeChannels(t *testing.T) {
	e := newEnv(t)
	notice := func(account string) notify.Message {
		return notify.Message{Kind: notify.KindNotice, AccountID: account, Template: "notify.test", Args: []string{"T-1"}}
	}
	outbox := func(account, channel string) int {
		return e.count(`SELECT COUNT(*) FROM notify_outbox WHERE account_id = ? AND channel = ?`, account, channel)
	}
	inbox := func(account string) int {
		return e.count(`SELECT COUNT(*) FROM notify_inbox WHERE account_id = ?`, account)
	}
	// Defaults: SMS with a phone; inbox only without.
	for _, a := range []string{"acct-1", "acct-2"} {
		if err := e.s.Send(e.ctx, notice(a)); err != nil {
			t.Fatal(err)
		}
	}
	if inbox("acct-1") != 1 || outbox("acct-1", "sms") != 1 || outbox("acct-1", "email") != 0 {
		t.Fatal("acct-1: want the inbox and SMS")
	}
	if inbox("acct-2") != 1 || outbox("acct-2", "sms") != 0 {
		t.Fatal("acct-2 (no phone): want the inbox alone")
	}
	// acct-1 turns SMS off and e-mail on, in Arabic.
	if err := e.s.SetChannels(e.as("acct-1"), notify.Channels{Email: true, EmailAddress: "an@example.vn", Lang: "ar"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Send(e.ctx, notice("acct-1")); err != nil {
		t.Fatal(err)
	}
	if inbox("acct-1") != 2 || outbox("acct-1", "sms") != 1 || outbox("acct-1", "email") != 1 {
		t.Fatal("acct-1: want the inbox and e-mail")
	}
	var subject, body, address string
	if err := e.d.QueryRow(e.ctx, `SELECT subject, body, address FROM notify_outbox WHERE channel = 'email'`).Scan(&subject, &body, &address); err != nil {
		t.Fatal(err)
	}
	if subject != "رسالة تجريبية" || !strings.Contains(body, "T-1") || address != "an@example.vn" {
		t.Fatalf("e-mail queued as %q / %q to %q", subject, body, address)
	}
	// A notice to a phone alone (no account) goes by SMS.
	if err := e.s.Send(e.ctx, notify.Message{Kind: notify.KindNotice, Phone: "0987654321", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM notify_outbox WHERE account_id = '' AND address = '84987654321'`); n != 1 {
		t.Fatalf("%d texts queued to a phone without an account", n)
	}
	// The inbox reads in the reader's language, whatever it was queued in.
	in, err := e.s.Inbox(e.as("acct-1"), "vi", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Messages) != 2 || in.Unread != 2 || in.Messages[0].Subject != "Tin nhắn thử" || !strings.Contains(in.Messages[0].Text, "(T-1)") {
		t.Fatalf("inbox: %+v", in)
	}
}

func TestSetChannelsRefuses(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		as   string // the account acting; "" a system job
		ch   notify.Channels
		code kernel.Code
	}{
		{"fail/not signed in", "", notify.Channels{}, kernel.Unauthenticated},
		{"fail/e-mail without an address", "acct-1", notify.Channels{Email: true}, kernel.Invalid},
		{"fail/an address with a name", "acct-1", notify.Channels{EmailAddress: "An <an@example.vn>"}, kernel.Invalid},
		{"fail/two addresses", "acct-1", notify.Channels{EmailAddress: "an@example.vn, b@example.vn"}, kernel.Invalid},
		{"fail/a header in the address", "acct-1", notify.Channels{EmailAddress: "an@example.vn\r\nBcc: x@example.vn"}, kernel.Invalid},
		{"fail/an unknown language", "acct-1", notify.Channels{Lang: "fr"}, kernel.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := e.ctx
			if tt.as != "" {
				ctx = e.as(tt.as)
			}
			if err := e.s.SetChannels(ctx, tt.ch); kernel.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
		})
	}
	// SMS stays off for an account without a phone; the choice is audited
	// without the address.
	if err := e.s.SetChannels(e.as("acct-2"), notify.Channels{SMS: true, Email: true, EmailAddress: "b@example.vn"}); err != nil {
		t.Fatal(err)
	}
	ch, hasPhone, err := e.s.Channels(e.as("acct-2"))
	if err != nil || ch.SMS || hasPhone || !ch.Email || ch.EmailAddress != "b@example.vn" {
		t.Fatalf("channels %+v phone %v err %v", ch, hasPhone, err)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'notify.channels.set' AND subject_id = 'acct-2' AND details NOT LIKE '%example%'`); n != 1 {
		t.Fatalf("%d audit records of the choice without the address", n)
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0912345678", "84912345678"},
		{"0912 345 678", "84912345678"},
		{"+84 (91) 234-5678", "84912345678"},
		{"0084912345678", "84912345678"},
		{"+33 6 12 34 56 78", "33612345678"},
		{"84912345678", "84912345678"},
		{"", ""},
		{"091234", ""},
		{"09123456789012345", ""},
		{"0912a45678", ""},
		{"09+12345678", ""},
	}
	for _, tt := range tests {
		got, err := notify.NormalizePhone(tt.in, "84")
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
