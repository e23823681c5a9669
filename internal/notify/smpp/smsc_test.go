package smpp_test

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"civitas/internal/notify/smpp"
)

// smsc is a minimal SMSC for the tests: it accepts transmitter binds with
// one system_id and password, records every submit_sm and answers it as
// told, answers enquire_link and unbind, and can drop its links, stay
// silent or send its own enquire_link.
type smsc struct {
	t        *testing.T
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
	// status answers the n-th submit_sm (from 0); nil: ESME_ROK.
	status func(n int) smpp.Status
	nack   bool // answer submit_sm with generic_nack
	silent bool // answer no submit_sm
}

func startSMSC(t *testing.T, systemID, password string) *smsc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &smsc{t: t, ln: ln, systemID: systemID, password: password}
	t.Cleanup(func() {
		ln.Close()
		m.drop()
	})
	go m.accept()
	return m
}

func (m *smsc) addr() string { return m.ln.Addr().String() }

func (m *smsc) accept() {
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

// drop closes every link, as an SMSC restarting would.
func (m *smsc) drop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		c.Close()
	}
	m.conns = nil
}

func (m *smsc) set(f func(m *smsc)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *smsc) get() (binds, enquires, answered, unbinds int, submits []smpp.PDU) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.binds, m.enquires, m.answered, m.unbinds, append([]smpp.PDU(nil), m.submits...)
}

// enquire sends the SMSC's own enquire_link on every bound link.
func (m *smsc) enquire() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		b, _ := smpp.Encode(smpp.PDU{Command: smpp.EnquireLink, Seq: 9000})
		c.Write(b)
	}
}

func (m *smsc) serve(c net.Conn) {
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
