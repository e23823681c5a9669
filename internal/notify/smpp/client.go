package smpp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Client.
type Options struct {
	Addr       string // the SMSC, HOST:PORT
	SystemID   string // the account the carrier gave (at most 15 characters)
	Password   string // its password (at most 8 characters)
	SystemType string // often empty; some carriers ask for one
	// Source is the sender: an alphanumeric brandname registered with the
	// carrier ("CIVITAS", at most 11 characters) or a number.
	Source string
	// ASCII is the coding of texts that need no UCS-2: CodingDefault (GSM
	// 03.38, the default) or CodingLatin1 when the SMSC's default alphabet
	// is Latin-1.
	ASCII Coding
	// EnquireLink is the keep-alive period: an enquire_link goes after this
	// long without a PDU from the SMSC. Zero means 30 s.
	EnquireLink time.Duration
	// Timeout bounds the dial, the bind and the wait for each response.
	// Zero means 10 s.
	Timeout time.Duration
	// TLS, when set, wraps the connection (SMPP over TLS).
	TLS *tls.Config
	// Logger hears of binds and lost links; never of a text or a number.
	Logger *slog.Logger
}

// Client is a transmitter bound to one SMSC. It binds on first use, keeps
// the link alive with enquire_link, and binds again on the next send after
// the link drops. It is safe for concurrent use.
type Client struct {
	o      Options
	mu     sync.Mutex // guards sess, ref, closed; held while binding
	sess   *session
	ref    byte
	closed bool
}

// ErrClosed is a send on a closed client.
var ErrClosed = errors.New("smpp: client closed")

// ErrTimeout is an SMSC that did not answer in time. The message may have
// been accepted; the link is dropped.
var ErrTimeout = errors.New("smpp: no response from the SMSC in time")

// linkError is a link that failed: the PDU may or may not have arrived.
type linkError struct{ err error }

func (e *linkError) Error() string { return "smpp: link: " + e.err.Error() }
func (e *linkError) Unwrap() error { return e.err }

// unsentError is a PDU that never left: sending it again cannot duplicate it.
type unsentError struct{ err error }

func (e *unsentError) Error() string { return "smpp: not sent: " + e.err.Error() }
func (e *unsentError) Unwrap() error { return e.err }

// New checks the options; it does not dial.
func New(o Options) (*Client, error) {
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return nil, fmt.Errorf("smpp: address %q: %w", o.Addr, err)
	}
	switch {
	case o.SystemID == "" || len(o.SystemID) >= maxSystemID:
		return nil, fmt.Errorf("smpp: system_id must have 1 to %d characters", maxSystemID-1)
	case len(o.Password) >= maxPassword:
		return nil, fmt.Errorf("smpp: the password may have at most %d characters", maxPassword-1)
	case len(o.SystemType) >= maxSystemType:
		return nil, fmt.Errorf("smpp: system_type may have at most %d characters", maxSystemType-1)
	case o.Source == "" || len(o.Source) >= maxAddr || strings.ContainsRune(o.Source, 0):
		return nil, fmt.Errorf("smpp: the source address must have 1 to %d characters", maxAddr-1)
	case o.ASCII != CodingDefault && o.ASCII != CodingLatin1:
		return nil, fmt.Errorf("smpp: %s is no coding for plain texts", o.ASCII)
	}
	if o.EnquireLink <= 0 {
		o.EnquireLink = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var b [1]byte
	_, _ = rand.Read(b[:])
	return &Client{o: o, ref: b[0]}, nil
}

// SendSMS submits text to phone; see Send.
func (c *Client) SendSMS(ctx context.Context, phone, text string) error {
	_, err := c.Send(ctx, phone, text)
	return err
}

// Send submits text to dest, a number in international form without "+"
// (84912345678) or in national form with its leading 0, and returns the
// message IDs the SMSC gave each part. A refusal is a *StatusError; an
// SMSC that does not answer is ErrTimeout. When the link turns out dead
// before the first part left, Send binds again and tries once more.
func (c *Client) Send(ctx context.Context, dest, text string) ([]string, error) {
	ton, npi, err := destAddr(dest)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.ref++
	ref := c.ref
	c.mu.Unlock()
	coding, parts, err := Split(text, c.o.ASCII, ref)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		s, err := c.session(ctx)
		if err != nil {
			return nil, err
		}
		ids, err := c.submit(ctx, s, ton, npi, dest, coding, parts)
		var unsent *unsentError
		if err != nil && len(ids) == 0 && attempt == 0 && errors.As(err, &unsent) && ctx.Err() == nil {
			continue
		}
		return ids, err
	}
}

// destAddr checks a destination number and gives its TON and NPI (ISDN).
func destAddr(dest string) (ton, npi byte, err error) {
	if len(dest) < 3 || len(dest) >= maxAddr {
		return 0, 0, errors.New("smpp: destination number of a wrong length")
	}
	for i := 0; i < len(dest); i++ {
		if dest[i] < '0' || dest[i] > '9' {
			return 0, 0, errors.New("smpp: destination number with a character that is not a digit")
		}
	}
	if dest[0] == '0' {
		return 2, 1, nil // national
	}
	return 1, 1, nil // international
}

// sourceAddr gives the TON and NPI of the sender: alphanumeric (5/0) for a
// brandname, international (1/1) for a full number, unknown (0/1) for a
// short code.
func sourceAddr(src string) (ton, npi byte) {
	for i := 0; i < len(src); i++ {
		if src[i] < '0' || src[i] > '9' {
			return 5, 0
		}
	}
	if len(src) >= 10 {
		return 1, 1
	}
	return 0, 1
}

func (c *Client) submit(ctx context.Context, s *session, ton, npi byte, dest string, coding Coding, parts [][]byte) ([]string, error) {
	ids := make([]string, 0, len(parts))
	srcTON, srcNPI := sourceAddr(c.o.Source)
	for _, sm := range parts {
		p := PDU{Command: SubmitSM, SourceTON: srcTON, SourceNPI: srcNPI, Source: c.o.Source,
			DestTON: ton, DestNPI: npi, Dest: dest, DataCoding: byte(coding), ShortMessage: sm}
		if len(parts) > 1 {
			p.ESMClass = ESMClassUDHI
		}
		r, err := s.call(ctx, p, c.o.Timeout)
		if err != nil {
			return ids, err
		}
		switch {
		case r.Command == GenericNack:
			return ids, &StatusError{Command: SubmitSM, Status: r.Status, Nack: true}
		case r.Command != SubmitSMResp:
			return ids, &StatusError{Command: SubmitSM, Status: StatusUnknownErr}
		case r.Status != StatusOK:
			return ids, &StatusError{Command: SubmitSM, Status: r.Status}
		}
		ids = append(ids, r.MessageID)
	}
	return ids, nil
}

// session returns the bound session, binding a new one when there is none
// or the last one died.
func (c *Client) session(ctx context.Context) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.sess != nil && c.sess.alive() {
		return c.sess, nil
	}
	s, err := c.bind(ctx)
	if err != nil {
		return nil, err
	}
	c.sess = s
	return s, nil
}

// Close unbinds and closes the link. Sends after it fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	s := c.sess
	c.sess = nil
	c.mu.Unlock()
	if s == nil || !s.alive() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(c.o.Timeout, 2*time.Second))
	defer cancel()
	_, err := s.call(ctx, PDU{Command: Unbind}, c.o.Timeout)
	s.kill(ErrClosed)
	return err
}

// bind dials the SMSC and binds as a transmitter.
func (c *Client) bind(ctx context.Context) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.o.Addr)
	if err != nil {
		return nil, &unsentError{err}
	}
	if c.o.TLS != nil {
		tc := tls.Client(conn, c.o.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, &unsentError{err}
		}
		conn = tc
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	s := &session{conn: conn, r: bufio.NewReader(conn), pending: map[uint32]chan PDU{}, done: make(chan struct{}),
		log: c.o.Logger, period: c.o.EnquireLink, timeout: c.o.Timeout, seq: 1}
	req := PDU{Command: BindTransmitter, Seq: 1, SystemID: c.o.SystemID, Password: c.o.Password, SystemType: c.o.SystemType,
		InterfaceVersion: InterfaceVersion}
	if err := s.write(req); err != nil {
		conn.Close()
		return nil, &unsentError{err}
	}
	// The SMSC's answer, answering its own requests (an enquire_link) meanwhile.
	for {
		b, err := ReadPDU(s.r)
		if err != nil {
			conn.Close()
			if ctx.Err() != nil {
				return nil, ErrTimeout
			}
			return nil, &unsentError{err}
		}
		p, err := Decode(b)
		if err != nil {
			conn.Close()
			return nil, &unsentError{err}
		}
		if p.Seq != 1 || !IsResponse(p.Command) {
			if !IsResponse(p.Command) {
				s.answer(p)
			}
			continue
		}
		if p.Command == GenericNack || p.Command != BindTransmitterResp || p.Status != StatusOK {
			conn.Close()
			st := p.Status
			if st == StatusOK {
				st = StatusBindFail
			}
			return nil, &StatusError{Command: BindTransmitter, Status: st, Nack: p.Command == GenericNack}
		}
		break
	}
	_ = conn.SetDeadline(time.Time{})
	s.touch()
	c.o.Logger.Info("smpp: bound", slog.String("smsc", c.o.Addr))
	go s.read()
	go s.keepAlive()
	return s, nil
}

// session is one bound link.
type session struct {
	conn    net.Conn
	r       *bufio.Reader
	log     *slog.Logger
	period  time.Duration
	timeout time.Duration

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex // guards seq, pending, err
	seq     uint32
	pending map[uint32]chan PDU
	err     error

	done     chan struct{}
	once     sync.Once
	lastRead atomic.Int64 // Unix nanoseconds of the last PDU read
}

func (s *session) touch() { s.lastRead.Store(time.Now().UnixNano()) }

func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// kill ends the session once: waiters fail with err.
func (s *session) kill(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.done)
		_ = s.conn.Close()
		if !errors.Is(err, ErrClosed) {
			s.log.Warn("smpp: link lost", slog.String("error", err.Error()))
		}
	})
}

func (s *session) write(p PDU) error {
	b, err := Encode(p)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	_, err = s.conn.Write(b)
	return err
}

// call sends a request and waits for its response.
func (s *session) call(ctx context.Context, p PDU, timeout time.Duration) (PDU, error) {
	ch := make(chan PDU, 1)
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return PDU{}, &unsentError{err}
	}
	s.seq++
	if s.seq == 0 || s.seq > 0x7FFFFFFF {
		s.seq = 1
	}
	p.Seq = s.seq
	s.pending[p.Seq] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, p.Seq)
		s.mu.Unlock()
	}()
	if err := s.write(p); err != nil {
		s.kill(err)
		return PDU{}, &unsentError{err}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-s.done:
		s.mu.Lock()
		err := s.err
		s.mu.Unlock()
		return PDU{}, &linkError{err}
	case <-ctx.Done():
		return PDU{}, ctx.Err()
	case <-t.C:
		// The SMSC is stuck or the link is half dead: start afresh.
		s.kill(ErrTimeout)
		return PDU{}, ErrTimeout
	}
}

// read dispatches what the SMSC sends until the link ends.
func (s *session) read() {
	for {
		b, err := ReadPDU(s.r)
		if err != nil {
			s.kill(err)
			return
		}
		s.touch()
		p, err := Decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				s.kill(err)
				return
			}
			if IsResponse(p.Command) {
				// A response we cannot read still ends its request.
				s.deliver(PDU{Command: GenericNack, Status: de.Status, Seq: p.Seq})
			} else if werr := s.write(PDU{Command: GenericNack, Status: de.Status, Seq: p.Seq}); werr != nil {
				s.kill(werr)
				return
			}
			continue
		}
		if IsResponse(p.Command) {
			s.deliver(p)
			continue
		}
		if err := s.answer(p); err != nil {
			s.kill(err)
			return
		}
		if p.Command == Unbind {
			s.kill(errors.New("smpp: the SMSC unbound"))
			return
		}
	}
}

// answer responds to a request from the SMSC.
func (s *session) answer(p PDU) error {
	switch p.Command {
	case EnquireLink:
		return s.write(PDU{Command: EnquireLinkResp, Seq: p.Seq})
	case Unbind:
		return s.write(PDU{Command: UnbindResp, Seq: p.Seq})
	case DeliverSM:
		// A delivery receipt or a reply; this transmitter asked for
		// neither, so it is acknowledged and dropped.
		return s.write(PDU{Command: DeliverSMResp, Seq: p.Seq})
	}
	return s.write(PDU{Command: GenericNack, Status: StatusInvCmdID, Seq: p.Seq})
}

func (s *session) deliver(p PDU) {
	s.mu.Lock()
	ch := s.pending[p.Seq]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- p:
		default:
		}
	}
}

// keepAlive sends an enquire_link after each period without a PDU from
// the SMSC, and drops the link when it goes unanswered.
func (s *session) keepAlive() {
	t := time.NewTicker(s.period / 2)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, s.lastRead.Load())) < s.period {
			continue
		}
		r, err := s.call(context.Background(), PDU{Command: EnquireLink}, s.timeout)
		if err == nil && r.Command != EnquireLinkResp {
			err = &StatusError{Command: EnquireLink, Status: r.Status, Nack: r.Command == GenericNack}
		}
		if err != nil {
			s.kill(fmt.Errorf("enquire_link: %w", err))
			return
		}
	}
}
