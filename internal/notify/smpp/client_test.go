package smpp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/notify/smpp"
	"civitas/internal/notify/smpp/smpptest"
)

// eventually polls cond until it holds, failing the test after a while.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newClient(t *testing.T, m *smpptest.SMSC, edit func(o *smpp.Options)) *smpp.Client {
	t.Helper()
	o := smpp.Options{Addr: m.Addr(), SystemID: "civitas", Password: "s3cret", Source: "CIVITAS", Timeout: 2 * time.Second}
	if edit != nil {
		edit(&o)
	}
	c, err := smpp.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// reassemble joins the parts the SMSC received into the text a phone shows.
func reassemble(t *testing.T, submits []smpp.PDU) string {
	t.Helper()
	type part struct {
		seq  int
		text string
	}
	var parts []part
	count, ref := 0, -1
	for i, p := range submits {
		udhi := p.ESMClass&smpp.ESMClassUDHI != 0
		got, err := smpp.DecodeShortMessage(smpp.Coding(p.DataCoding), udhi, p.ShortMessage)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if len(submits) == 1 {
			if udhi {
				t.Fatal("a single message carries a header")
			}
			return got.Text
		}
		if !udhi || got.Count != len(submits) || got.Seq < 1 || got.Seq > got.Count {
			t.Fatalf("part %d: header %+v (udhi %v) for %d parts", i, got, udhi, len(submits))
		}
		if ref >= 0 && int(got.Ref) != ref {
			t.Fatalf("part %d: reference %d, the first had %d", i, got.Ref, ref)
		}
		ref, count = int(got.Ref), got.Count
		parts = append(parts, part{got.Seq, got.Text})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].seq < parts[j].seq })
	var b strings.Builder
	for i, p := range parts {
		if p.seq != i+1 {
			t.Fatalf("parts %v of %d", parts, count)
		}
		b.WriteString(p.text)
	}
	return b.String()
}

func TestSendCodings(t *testing.T) {
	m := smpptest.Start(t, "civitas", "s3cret")
	gsm := newClient(t, m, nil)
	latin := newClient(t, m, func(o *smpp.Options) { o.ASCII = smpp.CodingLatin1 })
	tests := []struct {
		name   string
		c      *smpp.Client
		text   string
		coding smpp.Coding
		sm     []byte // the short_message expected, byte for byte
	}{
		{"ok/Vietnamese in UCS-2", gsm, "Mã xác thực: đ",
			smpp.CodingUCS2, []byte{0x00, 'M', 0x00, 0xE3, 0x00, ' ', 0x00, 'x', 0x00, 0xE1, 0x00, 'c', 0x00, ' ',
				0x00, 't', 0x00, 'h', 0x1E, 0xF1, 0x00, 'c', 0x00, ':', 0x00, ' ', 0x01, 0x11}},
		{"ok/decomposed marks are composed first", gsm, "a\u0301\u1ea1", smpp.CodingUCS2, []byte{0x00, 0xE1, 0x1E, 0xA1}},
		{"ok/plain text in GSM 03.38", gsm, "Code 12 @$_{}€", smpp.CodingDefault,
			[]byte{'C', 'o', 'd', 'e', ' ', '1', '2', ' ', 0x00, 0x02, 0x11, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x65}},
		{"ok/Vietnamese without marks in GSM 03.38", gsm, "Ma xac thuc", smpp.CodingDefault, []byte("Ma xac thuc")},
		{"ok/plain text in Latin-1", latin, "café 12", smpp.CodingLatin1, []byte{'c', 'a', 'f', 0xE9, ' ', '1', '2'}},
		{"ok/Latin-1 cannot say đ", latin, "đ", smpp.CodingUCS2, []byte{0x01, 0x11}},
		{"ok/emoji as a surrogate pair", gsm, "😀", smpp.CodingUCS2, []byte{0xD8, 0x3D, 0xDE, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := m.Submits()
			ids, err := tt.c.Send(context.Background(), "84912345678", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			after := m.Submits()
			got := after[len(before):]
			if len(got) != 1 || len(ids) != 1 || ids[0] == "" {
				t.Fatalf("%d submits, ids %v", len(got), ids)
			}
			p := got[0]
			if smpp.Coding(p.DataCoding) != tt.coding || !bytes.Equal(p.ShortMessage, tt.sm) {
				t.Fatalf("data_coding %d, short_message % x; want %d, % x", p.DataCoding, p.ShortMessage, tt.coding, tt.sm)
			}
			if p.ESMClass != 0 || p.Dest != "84912345678" || p.DestTON != 1 || p.DestNPI != 1 ||
				p.Source != "CIVITAS" || p.SourceTON != 5 || p.SourceNPI != 0 {
				t.Fatalf("addresses or esm_class: %+v", p)
			}
		})
	}
}

func TestConcatenation(t *testing.T) {
	m := smpptest.Start(t, "civitas", "s3cret")
	c := newClient(t, m, nil)
	vi := strings.Repeat("Mã xác thực đăng ký của bạn là 123456. ", 4) // 156 characters
	ascii := strings.Repeat("x", 152) + "{" + strings.Repeat("y", 100)
	tests := []struct {
		name     string
		text     string
		coding   smpp.Coding
		bodyLens []int // octets after the header, part by part
	}{
		{"ok/UCS-2 in parts of 67 characters", vi, smpp.CodingUCS2, []int{134, 134, 44}},
		{"ok/70 UCS-2 characters fit one message", strings.Repeat("đ", 70), smpp.CodingUCS2, []int{140}},
		{"ok/71 UCS-2 characters take two", strings.Repeat("đ", 71), smpp.CodingUCS2, []int{134, 8}},
		{"ok/GSM escapes are never split", ascii, smpp.CodingDefault, []int{152, 102}},
		{"ok/160 GSM septets fit one message", strings.Repeat("a", 160), smpp.CodingDefault, []int{160}},
		{"ok/surrogate pairs are never split", strings.Repeat("đ", 66) + "😀😀😀", smpp.CodingUCS2, []int{132, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := m.Submits()
			ids, err := c.Send(context.Background(), "0912345678", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			after := m.Submits()
			got := after[len(before):]
			if len(got) != len(tt.bodyLens) || len(ids) != len(got) {
				t.Fatalf("%d parts and %d ids, want %d", len(got), len(ids), len(tt.bodyLens))
			}
			for i, p := range got {
				if smpp.Coding(p.DataCoding) != tt.coding || p.DestTON != 2 {
					t.Fatalf("part %d: data_coding %d, dest TON %d", i, p.DataCoding, p.DestTON)
				}
				body := p.ShortMessage
				if len(got) > 1 {
					udh := []byte{0x05, 0x00, 0x03, body[3], byte(len(got)), byte(i + 1)}
					if !bytes.Equal(body[:6], udh) || p.ESMClass != smpp.ESMClassUDHI {
						t.Fatalf("part %d: header % x, esm_class %#x", i, body[:6], p.ESMClass)
					}
					body = body[6:]
				}
				if len(body) != tt.bodyLens[i] || len(p.ShortMessage) > 160 {
					t.Fatalf("part %d: %d octets after the header, want %d", i, len(body), tt.bodyLens[i])
				}
			}
			if text := reassemble(t, got); text != tt.text {
				t.Fatalf("reassembled %q, sent %q", text, tt.text)
			}
		})
	}
	// Each concatenated message has its own reference.
	all := m.Submits()
	refs := map[byte]bool{}
	for _, p := range all {
		if p.ESMClass&smpp.ESMClassUDHI != 0 && p.ShortMessage[5] == 1 {
			refs[p.ShortMessage[3]] = true
		}
	}
	if len(refs) != 4 {
		t.Fatalf("%d distinct references for 4 concatenated messages", len(refs))
	}
}

// permanent is the interface notify asks of a driver's errors.
type permanent interface{ Permanent() bool }

func TestRefusals(t *testing.T) {
	tests := []struct {
		name      string
		password  string
		smsc      func(m *smpptest.SMSC)
		command   uint32
		status    smpp.Status
		nack      bool
		permanent bool
	}{
		{"fail/wrong password", "wrong", nil, smpp.BindTransmitter, smpp.StatusInvPaswd, false, true},
		{"fail/throttled is temporary", "s3cret", func(m *smpptest.SMSC) { m.AnswerWith(func(int) smpp.Status { return smpp.StatusThrottled }) },
			smpp.SubmitSM, smpp.StatusThrottled, false, false},
		{"fail/queue full is temporary", "s3cret", func(m *smpptest.SMSC) { m.AnswerWith(func(int) smpp.Status { return smpp.StatusMsgQFul }) },
			smpp.SubmitSM, smpp.StatusMsgQFul, false, false},
		{"fail/bad number is permanent", "s3cret", func(m *smpptest.SMSC) { m.AnswerWith(func(int) smpp.Status { return smpp.StatusInvDstAdr }) },
			smpp.SubmitSM, smpp.StatusInvDstAdr, false, true},
		{"fail/generic_nack", "s3cret", func(m *smpptest.SMSC) { m.Nack(true) }, smpp.SubmitSM, smpp.StatusInvCmdID, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := smpptest.Start(t, "civitas", "s3cret")
			if tt.smsc != nil {
				tt.smsc(m)
			}
			c := newClient(t, m, func(o *smpp.Options) { o.Password = tt.password })
			_, err := c.Send(context.Background(), "84912345678", "Mã của bạn là 123456")
			var se *smpp.StatusError
			if !errors.As(err, &se) || se.Command != tt.command || se.Status != tt.status || se.Nack != tt.nack {
				t.Fatalf("err = %v, want %s refused with %s", err, smpp.CommandName(tt.command), tt.status)
			}
			var p permanent
			if !errors.As(err, &p) || p.Permanent() != tt.permanent {
				t.Fatalf("permanent = %v, want %v", p != nil && p.Permanent(), tt.permanent)
			}
			if strings.Contains(err.Error(), "123456") || strings.Contains(err.Error(), "912345678") {
				t.Fatalf("the error tells the text or the number: %v", err)
			}
		})
	}
}

func TestKeepAliveAndReconnect(t *testing.T) {
	m := smpptest.Start(t, "civitas", "s3cret")
	c := newClient(t, m, func(o *smpp.Options) { o.EnquireLink = 20 * time.Millisecond })
	ctx := context.Background()
	if _, err := c.Send(ctx, "84912345678", "one"); err != nil {
		t.Fatal(err)
	}
	// An idle link is kept alive by enquire_link.
	eventually(t, "two enquire_links", func() bool { return m.Counts().Enquires >= 2 })
	// The SMSC's own enquire_link is answered.
	m.Enquire()
	eventually(t, "the client answers the SMSC's enquire_link", func() bool { return m.Counts().Answered >= 1 })
	// The SMSC drops the link: the client notices and binds again.
	m.Drop()
	eventually(t, "a new bind after the link dropped", func() bool {
		_, err := c.Send(ctx, "84912345678", "two")
		return err == nil && m.Counts().Binds >= 2 // more when a slow machine misses an enquire_link
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "unbind on close", func() bool { return m.Counts().Unbinds == 1 })
	if _, err := c.Send(ctx, "84912345678", "three"); !errors.Is(err, smpp.ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	m := smpptest.Start(t, "civitas", "s3cret")
	m.Silent(true)
	c := newClient(t, m, func(o *smpp.Options) { o.Timeout = 100 * time.Millisecond })
	if _, err := c.Send(context.Background(), "84912345678", "hello"); !errors.Is(err, smpp.ErrTimeout) {
		t.Fatalf("err = %v, want the timeout", err)
	}
	var p permanent
	if errors.As(smpp.ErrTimeout, &p) {
		t.Fatal("a timeout must not be permanent")
	}
	// The stuck link was dropped; once the SMSC answers again, sends work.
	m.Silent(false)
	if _, err := c.Send(context.Background(), "84912345678", "hello"); err != nil {
		t.Fatal(err)
	}
	if b := m.Counts().Binds; b != 2 {
		t.Fatalf("%d binds, want 2", b)
	}
	// Nobody listening: the dial fails within the timeout.
	m.Close()
	if _, err := c.Send(context.Background(), "84912345678", "hello"); err == nil {
		t.Fatal("sent with no SMSC")
	}
}

func TestConcurrentSends(t *testing.T) {
	m := smpptest.Start(t, "civitas", "s3cret")
	c := newClient(t, m, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Send(context.Background(), "84912345678", fmt.Sprintf("message %02d", i))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	binds, submits := m.Counts().Binds, m.Submits()
	seqs := map[uint32]bool{}
	for _, p := range submits {
		seqs[p.Seq] = true
	}
	if binds != 1 || len(submits) != 20 || len(seqs) != 20 {
		t.Fatalf("%d binds, %d submits, %d sequence numbers", binds, len(submits), len(seqs))
	}
}

func TestOptions(t *testing.T) {
	base := smpp.Options{Addr: "127.0.0.1:2775", SystemID: "civitas", Password: "pw", Source: "CIVITAS"}
	tests := []struct {
		name string
		edit func(o *smpp.Options)
		ok   bool
	}{
		{"ok/plain", func(*smpp.Options) {}, true},
		{"fail/no port", func(o *smpp.Options) { o.Addr = "smsc.example" }, false},
		{"fail/system_id too long", func(o *smpp.Options) { o.SystemID = strings.Repeat("s", 16) }, false},
		{"fail/password too long", func(o *smpp.Options) { o.Password = "123456789" }, false},
		{"fail/no source", func(o *smpp.Options) { o.Source = "" }, false},
		{"fail/UCS-2 for plain texts", func(o *smpp.Options) { o.ASCII = smpp.CodingUCS2 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			if _, err := smpp.New(o); (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
	c, err := smpp.New(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{"", "+84912345678", "0912 345 678", strings.Repeat("1", 21)} {
		if _, err := c.Send(context.Background(), dest, "x"); err == nil {
			t.Fatalf("destination %q accepted", dest)
		}
	}
}
