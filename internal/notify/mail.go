package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// SMTPOptions configure an SMTP mailer.
type SMTPOptions struct {
	Addr string // the relay, HOST:PORT (587 for submission, 465 for implicit TLS)
	From string // the sender, "civitas <no-reply@example.vn>" or a bare address
	// User and Password authenticate (AUTH PLAIN), only over TLS or to
	// localhost; empty User: no authentication.
	User     string
	Password string
	// TLS is "starttls" (the default: STARTTLS when the server offers it),
	// "require" (refuse a server that does not) or "implicit" (TLS from the
	// first byte, as on port 465).
	TLS       string
	TLSConfig *tls.Config   // nil: the system's roots, for the relay's host name
	Hello     string        // the EHLO name; default "localhost"
	Timeout   time.Duration // the whole conversation; default 30 s
}

// SMTP is a Mailer sending through a relay.
type SMTP struct {
	o    SMTPOptions
	host string
	from *mail.Address
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP checks the options.
func NewSMTP(o SMTPOptions) (*SMTP, error) {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP address %q: %w", o.Addr, err)
	}
	from, err := mail.ParseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP sender %q: %w", o.From, err)
	}
	switch o.TLS {
	case "":
		o.TLS = "starttls"
	case "starttls", "require", "implicit":
	default:
		return nil, errors.New("notify: SMTP TLS must be starttls, require or implicit")
	}
	if o.TLSConfig != nil && o.TLSConfig.ServerName == "" {
		o.TLSConfig = o.TLSConfig.Clone()
		o.TLSConfig.ServerName = host
	}
	if o.Hello == "" {
		o.Hello = "localhost"
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &SMTP{o: o, host: host, from: from}, nil
}

// smtpError is a failure talking to the relay. It names the step and the
// reply code, never the server's words (which often repeat the address).
type smtpError struct {
	step      string
	code      int
	permanent bool
}

func (e *smtpError) Error() string {
	if e.code == 0 {
		return "notify: SMTP " + e.step + " failed"
	}
	return fmt.Sprintf("notify: SMTP %s refused (%d)", e.step, e.code)
}

func (e *smtpError) Permanent() bool { return e.permanent }

func stepError(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &smtpError{step: step, code: te.Code, permanent: te.Code >= 500}
	}
	return &smtpError{step: step}
}

// SendMail sends a plain-text message in UTF-8.
func (m *SMTP) SendMail(ctx context.Context, to, subject, body string) error {
	rcpt, err := mail.ParseAddress(to)
	if err != nil || rcpt.Name != "" {
		return &smtpError{step: "recipient", permanent: true}
	}
	msg, err := m.message(rcpt.Address, subject, body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.o.Addr)
	if err != nil {
		return &smtpError{step: "connection"}
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	tlsConfig := m.o.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	}
	if m.o.TLS == "implicit" {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return &smtpError{step: "TLS handshake"}
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return stepError("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(m.o.Hello); err != nil {
		return stepError("EHLO", err)
	}
	if m.o.TLS != "implicit" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return stepError("STARTTLS", err)
			}
		} else if m.o.TLS == "require" {
			return &smtpError{step: "STARTTLS (not offered)", permanent: true}
		}
	}
	if m.o.User != "" {
		if err := c.Auth(smtp.PlainAuth("", m.o.User, m.o.Password, m.host)); err != nil {
			return stepError("AUTH", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return stepError("MAIL FROM", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return stepError("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return stepError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return stepError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return stepError("DATA", err)
	}
	if err := c.Quit(); err != nil {
		return stepError("QUIT", err)
	}
	return nil
}

// message writes the headers and the quoted-printable body, lines ending
// in CRLF.
func (m *SMTP) message(to, subject, body string) ([]byte, error) {
	subject = strings.Join(strings.Fields(subject), " ") // no line breaks in a header
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := m.from.Address[strings.LastIndexByte(m.from.Address, '@')+1:]
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"From", m.from.String()},
		{"To", "<" + to + ">"},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id[:]) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}
