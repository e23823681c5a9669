// Package smpptest is a minimal SMSC for tests, written from the SMPP 3.4
// specification: it accepts transmitter binds with one system_id and
// password, records every submit_sm and answers it as told, answers
// enquire_link and unbind, and can drop its links, stay silent or send its
// own enquire_link. It listens on 127.0.0.1 and is for tests only.
package smpptest

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"testing"

	"civitas/internal/notify/smpp"
)

// SMSC is a running test SMSC.
type SMSC struct {
	t        testing.TB
	ln       net.Listener
	systemID string
	password string

	mu       sync.Mutex
	conns    []net.Conn
	binds    int
	submits  []smpp.PDU
	enquires int // enquire_link received
	answered int // enquire_link_resp received (to the SMSC's own)
	unbinds  int
	status   func(n int) smpp.Status
	nack     bool
	silent   bool
}

// Start runs an SMSC until the test ends.
func Start(t testing.TB, systemID, password string) *SMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &SMSC{t: t, ln: ln, systemID: systemID, password: password}
	t.Cleanup(m.Close)
	go m.accept()
	return m
}

// Addr is where the SMSC listens, HOST:PORT.
func (m *SMSC) Addr() string { return m.ln.Addr().String() }

// Close stops listening and drops every link.
func (m *SMSC) Close() {
	m.ln.Close()
	m.Drop()
}

// Drop closes every link, as an SMSC restarting would.
func (m *SMSC) Drop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		c.Close()
	}
	m.conns = nil
}

// AnswerWith makes the SMSC answer the n-th submit_sm (from 0) with the
// status f gives; nil answers ESME_ROK.
func (m *SMSC) AnswerWith(f func(n int) smpp.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status = f
}

// Nack makes the SMSC answer submit_sm with generic_nack.
func (m *SMSC) Nack(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nack = on
}

// Silent makes the SMSC answer no submit_sm.
func (m *SMSC) Silent(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.silent = on
}

// Counts is what the SMSC has seen.
type Counts struct {
	Binds    int // bind_transmitter received
	Enquires int // enquire_link received
	Answered int // enquire_link_resp received to the SMSC's own
	Unbinds  int
}

// Counts returns what the SMSC has seen so far.
func (m *SMSC) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Counts{Binds: m.binds, Enquires: m.enquires, Answered: m.answered, Unbinds: m.unbinds}
}

// Submits returns every submit_sm received, in order.
func (m *SMSC) Submits() []smpp.PDU {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]smpp.PDU(nil), m.submits...)
}

// Enquire sends the SMSC's own enquire_link on every link.
func (m *SMSC) Enquire() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		b, _ := smpp.Encode(smpp.PDU{Command: smpp.EnquireLink, Seq: 9000})
		c.Write(b)
	}
}

func (m *SMSC) accept() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		m.conns = append(m.conns, c)
		m.mu.Unlock()
		go m.serve(c)
	}
}

func (m *SMSC) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	write := func(p smpp.PDU) bool {
		b, err := smpp.Encode(p)
		if err != nil {
			m.t.Errorf("smsc: encode %s: %v", smpp.CommandName(p.Command), err)
			return false
		}
		_, err = c.Write(b)
		return err == nil
	}
	bound := false
	for {
		b, err := smpp.ReadPDU(r)
		if err != nil {
			return
		}
		p, err := smpp.Decode(b)
		if err != nil {
			m.t.Errorf("smsc: the client sent a PDU it cannot read: %v", err)
			write(smpp.PDU{Command: smpp.GenericNack, Status: smpp.StatusInvCmdLen, Seq: p.Seq})
			continue
		}
		switch p.Command {
		case smpp.BindTransmitter:
			st := smpp.StatusOK
			switch {
			case p.SystemID != m.systemID:
				st = smpp.StatusInvSysID
			case p.Password != m.password:
				st = smpp.StatusInvPaswd
			case p.InterfaceVersion != smpp.InterfaceVersion:
				st = smpp.StatusBindFail
			}
			m.mu.Lock()
			m.binds++
			m.mu.Unlock()
			resp := smpp.PDU{Command: smpp.BindTransmitterResp, Status: st, Seq: p.Seq}
			if st == smpp.StatusOK {
				resp.SystemID = "TESTSMSC"
				bound = true
			}
			if !write(resp) {
				return
			}
		case smpp.SubmitSM:
			m.mu.Lock()
			n := len(m.submits)
			m.submits = append(m.submits, p)
			status, nack, silent := m.status, m.nack, m.silent
			m.mu.Unlock()
			st := smpp.StatusOK
			if !bound {
				st = smpp.StatusInvBndSts
			} else if status != nil {
				st = status(n)
			}
			switch {
			case silent:
			case nack:
				write(smpp.PDU{Command: smpp.GenericNack, Status: smpp.StatusInvCmdID, Seq: p.Seq})
			case st != smpp.StatusOK:
				write(smpp.PDU{Command: smpp.SubmitSMResp, Status: st, Seq: p.Seq})
			default:
				write(smpp.PDU{Command: smpp.SubmitSMResp, Seq: p.Seq, MessageID: "msg-" + strconv.Itoa(n)})
			}
		case smpp.EnquireLink:
			m.mu.Lock()
			m.enquires++
			m.mu.Unlock()
			write(smpp.PDU{Command: smpp.EnquireLinkResp, Seq: p.Seq})
		case smpp.EnquireLinkResp:
			m.mu.Lock()
			m.answered++
			m.mu.Unlock()
		case smpp.Unbind:
			m.mu.Lock()
			m.unbinds++
			m.mu.Unlock()
			write(smpp.PDU{Command: smpp.UnbindResp, Seq: p.Seq})
			return
		default:
			write(smpp.PDU{Command: smpp.GenericNack, Status: smpp.StatusInvCmdID, Seq: p.Seq})
		}
	}
}

// Text reassembles the text of submits (one message, or the parts of one
// concatenated message in any order) as a phone would show it.
func Text(submits []smpp.PDU) (string, error) {
	parts := map[int]string{}
	count := 0
	for _, p := range submits {
		udhi := p.ESMClass&smpp.ESMClassUDHI != 0
		got, err := smpp.DecodeShortMessage(smpp.Coding(p.DataCoding), udhi, p.ShortMessage)
		if err != nil {
			return "", err
		}
		if !udhi {
			return got.Text, nil
		}
		parts[got.Seq], count = got.Text, got.Count
	}
	var s string
	for i := 1; i <= count; i++ {
		s += parts[i]
	}
	return s, nil
}
