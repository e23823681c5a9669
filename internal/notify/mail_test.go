package notify_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/notify"
)

// smtpServer is a minimal SMTP relay for the tests: EHLO, STARTTLS (when
// offered), AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT, on a port it
// listens on, with implicit TLS when told.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	cert     tls.Certificate
	roots    *x509.CertPool
	starttls bool // offer STARTTLS
	implicit bool // TLS from the first byte
	user     string
	pass     string
	rcptCode map[string]string // an address answered with this reply

	mu  sync.Mutex
	got []received
}

type received struct {
	tls        bool
	authUser   string
	from, rcpt string
	data       string
}

func startSMTP(t *testing.T, edit func(s *smtpServer)) *smtpServer {
	t.Helper()
	s := &smtpServer{t: t, starttls: true, user: "relay", pass: "relay-pass", rcptCode: map[string]string{}}
	s.cert, s.roots = selfSigned(t)
	if edit != nil {
		edit(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func (s *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	cur := received{}
	if s.implicit {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}})
		if err := tc.Handshake(); err != nil {
			return
		}
		c, cur.tls = tc, true
	}
	r := bufio.NewReader(c)
	say := func(lines ...string) {
		io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n")
	}
	say("220 smtp.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		arg := strings.TrimSpace(strings.TrimPrefix(line, strings.SplitN(line, " ", 2)[0]))
		switch verb {
		case "EHLO", "HELO":
			ext := []string{"250-smtp.test", "250-8BITMIME"}
			if s.starttls && !cur.tls {
				ext = append(ext, "250-STARTTLS")
			}
			say(append(ext, "250 AUTH PLAIN")...)
		case "STARTTLS":
			if !s.starttls || cur.tls {
				say("502 not now")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, cur = tc, bufio.NewReader(tc), received{tls: true}
		case "AUTH":
			f := strings.Fields(arg)
			if len(f) != 2 || f[0] != "PLAIN" {
				say("504 only PLAIN")
				continue
			}
			raw, _ := base64.StdEncoding.DecodeString(f[1])
			parts := strings.Split(string(raw), "\x00")
			if len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass {
				say("535 5.7.8 authentication failed")
				continue
			}
			cur.authUser = parts[1]
			say("235 2.7.0 ok")
		case "MAIL":
			cur.from = addr(arg)
			say("250 ok")
		case "RCPT":
			to := addr(arg)
			if code, ok := s.rcptCode[to]; ok {
				say(code + " no such user " + to)
				continue
			}
			cur.rcpt = to
			say("250 ok")
		case "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			cur.data = b.String()
			s.got = append(s.got, cur)
			s.mu.Unlock()
			say("250 queued")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 what")
		}
	}
}

// addr takes the address out of "FROM:<a@b> ..." or "TO:<a@b>".
func addr(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return ""
	}
	return arg[i+1 : j]
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func (s *smtpServer) mailer(t *testing.T, edit func(o *notify.SMTPOptions)) *notify.SMTP {
	t.Helper()
	o := notify.SMTPOptions{Addr: s.ln.Addr().String(), From: "civitas <no-reply@civitas.example.vn>", User: "relay", Password: "relay-pass",
		TLSConfig: &tls.Config{RootCAs: s.roots}, Timeout: 5 * time.Second}
	if edit != nil {
		edit(&o)
	}
	m, err := notify.NewSMTP(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	mailSubject = "Kết quả hồ sơ của bạn: đã xong"
	mailBody    = "Xin chào,\nHồ sơ số 12/2026 đã có kết quả. Mời bạn đến nhận tại bộ phận một cửa.\n= civitas ="
)

// readMessage parses a received message and decodes its subject and body.
func readMessage(t *testing.T, data string) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("not a message: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" || msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("headers %v", msg.Header)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, subject, strings.TrimSuffix(string(body), "\r\n")
}

func TestSMTPSends(t *testing.T) {
	tests := []struct {
		name    string
		server  func(s *smtpServer)
		mailer  func(o *notify.SMTPOptions)
		tls     bool
		auth    string
		wantErr bool
	}{
		{"ok/STARTTLS when offered, then AUTH", nil, nil, true, "relay", false},
		{"ok/implicit TLS", func(s *smtpServer) { s.implicit, s.starttls = true, false }, func(o *notify.SMTPOptions) { o.TLS = "implicit" }, true, "relay", false},
		{"ok/plain to a local relay that offers no TLS", func(s *smtpServer) { s.starttls = false }, func(o *notify.SMTPOptions) { o.User = "" }, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSMTP(t, tt.server)
			m := s.mailer(t, tt.mailer)
			if err := m.SendMail(context.Background(), "an@example.vn", mailSubject, mailBody); err != nil {
				t.Fatal(err)
			}
			got := s.received()
			if len(got) != 1 {
				t.Fatalf("%d messages", len(got))
			}
			g := got[0]
			if g.tls != tt.tls || g.authUser != tt.auth || g.from != "no-reply@civitas.example.vn" || g.rcpt != "an@example.vn" {
				t.Fatalf("envelope %+v", g)
			}
			msg, subject, body := readMessage(t, g.data)
			if subject != mailSubject || body != strings.ReplaceAll(mailBody, "\n", "\r\n") {
				t.Fatalf("subject %q, body %q", subject, body)
			}
			if msg.Header.Get("To") != "<an@example.vn>" || !strings.Contains(msg.Header.Get("From"), "no-reply@civitas.example.vn") ||
				!strings.HasSuffix(msg.Header.Get("Message-ID"), "@civitas.example.vn>") {
				t.Fatalf("headers %v", msg.Header)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	tests := []struct {
		name      string
		server    func(s *smtpServer)
		mailer    func(o *notify.SMTPOptions)
		to        string
		permanent bool
	}{
		{"fail/TLS required but not offered", func(s *smtpServer) { s.starttls = false }, func(o *notify.SMTPOptions) { o.TLS = "require" }, "an@example.vn", true},
		{"fail/wrong password", nil, func(o *notify.SMTPOptions) { o.Password = "wrong" }, "an@example.vn", true},
		{"fail/recipient refused", func(s *smtpServer) { s.rcptCode["gone@example.vn"] = "550" }, nil, "gone@example.vn", true},
		{"fail/recipient deferred", func(s *smtpServer) { s.rcptCode["later@example.vn"] = "451" }, nil, "later@example.vn", false},
		{"fail/a certificate nobody trusts", nil, func(o *notify.SMTPOptions) { o.TLSConfig = nil }, "an@example.vn", false},
		{"fail/a recipient with a name", nil, nil, "An <an@example.vn>", true},
		{"fail/a header smuggled in the recipient", nil, nil, "an@example.vn\r\nBcc: x@example.vn", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSMTP(t, tt.server)
			err := s.mailer(t, tt.mailer).SendMail(context.Background(), tt.to, mailSubject, mailBody)
			var p interface{ Permanent() bool }
			if err == nil || !errors.As(err, &p) || p.Permanent() != tt.permanent {
				t.Fatalf("err = %v, want permanent=%v", err, tt.permanent)
			}
			if strings.Contains(err.Error(), "example.vn") {
				t.Fatalf("the error tells the address: %v", err)
			}
			if n := len(s.received()); n != 0 {
				t.Fatalf("%d messages went through", n)
			}
		})
	}
	if _, err := notify.NewSMTP(notify.SMTPOptions{Addr: "smtp.example.vn", From: "a@example.vn"}); err == nil {
		t.Fatal("an address without a port was accepted")
	}
	if _, err := notify.NewSMTP(notify.SMTPOptions{Addr: "smtp.example.vn:587", From: "not an address"}); err == nil {
		t.Fatal("a bad sender was accepted")
	}
}

// A notice to a citizen who chose e-mail travels through the outbox to a
// real SMTP conversation.
func TestNoticeByEmailThroughTheOutbox(t *testing.T) {
	s := startSMTP(t, nil)
	e := newEnv(t)
	e.mail = nil
	svc, err := notify.New(notify.Options{DB: e.d, Clock: e.clock, Catalog: e.cat, SMS: e.sms, Mail: s.mailer(t, nil), Directory: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetChannels(e.as("acct-2"), notify.Channels{Email: true, EmailAddress: "an@example.vn", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Send(e.ctx, notify.Message{Kind: notify.KindNotice, AccountID: "acct-2", Template: "notify.test", Args: []string{"E-1"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Deliver(e.ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d: %v", n, err)
	}
	got := s.received()
	if len(got) != 1 || !got[0].tls || got[0].rcpt != "an@example.vn" {
		t.Fatalf("received %+v", got)
	}
	_, subject, body := readMessage(t, got[0].data)
	if subject != "Test message" || !strings.Contains(body, "This is a test message from the operator (E-1)") {
		t.Fatalf("subject %q body %q", subject, body)
	}
}
