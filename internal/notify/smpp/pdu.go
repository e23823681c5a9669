package smpp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Command IDs (SMPP 3.4 §5.1.2.1). A response is its request's ID with
// the high bit set.
const (
	GenericNack         uint32 = 0x80000000
	BindReceiver        uint32 = 0x00000001
	BindReceiverResp    uint32 = 0x80000001
	BindTransmitter     uint32 = 0x00000002
	BindTransmitterResp uint32 = 0x80000002
	SubmitSM            uint32 = 0x00000004
	SubmitSMResp        uint32 = 0x80000004
	DeliverSM           uint32 = 0x00000005
	DeliverSMResp       uint32 = 0x80000005
	Unbind              uint32 = 0x00000006
	UnbindResp          uint32 = 0x80000006
	BindTransceiver     uint32 = 0x00000009
	BindTransceiverResp uint32 = 0x80000009
	EnquireLink         uint32 = 0x00000015
	EnquireLinkResp     uint32 = 0x80000015
)

// respBit marks a response command ID.
const respBit uint32 = 0x80000000

// IsResponse says whether a command ID is a response (generic_nack included).
func IsResponse(id uint32) bool { return id&respBit != 0 }

// HeaderLen is the length of a PDU header: command_length, command_id,
// command_status, sequence_number.
const HeaderLen = 16

// MaxLen bounds the PDUs read: a submit_sm is a few hundred octets; an SMSC
// announcing more is broken or hostile.
const MaxLen = 64 << 10

// Interface version 3.4, sent in bind requests.
const InterfaceVersion = 0x34

// Largest lengths of the C-octet strings, NUL included (§5.2).
const (
	maxSystemID    = 16
	maxPassword    = 9
	maxSystemType  = 13
	maxAddrRange   = 41
	maxServiceType = 6
	maxAddr        = 21
	maxTime        = 17
	maxMessageID   = 65
	maxShortMsg    = 254
)

// TLV is an optional parameter (§5.3).
type TLV struct {
	Tag   uint16
	Value []byte
}

// PDU is one SMPP protocol data unit. Only the fields of its command are
// encoded; the others must be zero.
type PDU struct {
	Command uint32
	Status  Status
	Seq     uint32

	// bind_transmitter, bind_receiver, bind_transceiver; SystemID alone in
	// their responses.
	SystemID         string
	Password         string
	SystemType       string
	InterfaceVersion byte
	AddrTON, AddrNPI byte
	AddressRange     string

	// submit_sm and deliver_sm.
	ServiceType          string
	SourceTON, SourceNPI byte
	Source               string
	DestTON, DestNPI     byte
	Dest                 string
	ESMClass             byte
	ProtocolID           byte
	Priority             byte
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	SMDefaultMsgID       byte
	ShortMessage         []byte

	// submit_sm_resp and deliver_sm_resp.
	MessageID string

	// Optional parameters of submit_sm, deliver_sm and bind responses.
	TLVs []TLV
}

// ESM class bit: the short message starts with a user data header.
const ESMClassUDHI = 0x40

// DecodeError is a PDU that could not be decoded. Seq is the PDU's
// sequence number when the header was readable, so the reader can answer
// with a generic_nack carrying Status.
type DecodeError struct {
	Seq    uint32
	Status Status
	Reason string
}

func (e *DecodeError) Error() string { return "smpp: bad PDU: " + e.Reason }

func bad(seq uint32, st Status, format string, args ...any) error {
	return &DecodeError{Seq: seq, Status: st, Reason: fmt.Sprintf(format, args...)}
}

// ReadPDU reads one whole PDU (header included) from r. A length outside
// HeaderLen..MaxLen is an error after which the stream cannot be trusted.
func ReadPDU(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n < HeaderLen || n > MaxLen {
		return nil, bad(0, StatusInvCmdLen, "command_length %d", n)
	}
	b := make([]byte, n)
	copy(b, h[:])
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// Decode parses one whole PDU.
func Decode(b []byte) (PDU, error) {
	if len(b) < HeaderLen {
		return PDU{}, bad(0, StatusInvCmdLen, "%d octets, shorter than a header", len(b))
	}
	p := PDU{
		Command: binary.BigEndian.Uint32(b[4:]),
		Status:  Status(binary.BigEndian.Uint32(b[8:])),
		Seq:     binary.BigEndian.Uint32(b[12:]),
	}
	if n := binary.BigEndian.Uint32(b); int64(n) != int64(len(b)) || n > MaxLen {
		return p, bad(p.Seq, StatusInvCmdLen, "command_length %d for %d octets", n, len(b))
	}
	d := decoder{b: b[HeaderLen:], seq: p.Seq}
	switch p.Command {
	case GenericNack, EnquireLink, EnquireLinkResp, Unbind, UnbindResp:
	case BindTransmitter, BindReceiver, BindTransceiver:
		p.SystemID = d.cstring(maxSystemID, "system_id")
		p.Password = d.cstring(maxPassword, "password")
		p.SystemType = d.cstring(maxSystemType, "system_type")
		p.InterfaceVersion = d.byte("interface_version")
		p.AddrTON = d.byte("addr_ton")
		p.AddrNPI = d.byte("addr_npi")
		p.AddressRange = d.cstring(maxAddrRange, "address_range")
	case BindTransmitterResp, BindReceiverResp, BindTransceiverResp:
		// An error response may come without a body (§4.1.2).
		if len(d.b) > 0 {
			p.SystemID = d.cstring(maxSystemID, "system_id")
			p.TLVs = d.tlvs()
		}
	case SubmitSM, DeliverSM:
		p.ServiceType = d.cstring(maxServiceType, "service_type")
		p.SourceTON = d.byte("source_addr_ton")
		p.SourceNPI = d.byte("source_addr_npi")
		p.Source = d.cstring(maxAddr, "source_addr")
		p.DestTON = d.byte("dest_addr_ton")
		p.DestNPI = d.byte("dest_addr_npi")
		p.Dest = d.cstring(maxAddr, "destination_addr")
		p.ESMClass = d.byte("esm_class")
		p.ProtocolID = d.byte("protocol_id")
		p.Priority = d.byte("priority_flag")
		p.ScheduleDeliveryTime = d.cstring(maxTime, "schedule_delivery_time")
		p.ValidityPeriod = d.cstring(maxTime, "validity_period")
		p.RegisteredDelivery = d.byte("registered_delivery")
		p.ReplaceIfPresent = d.byte("replace_if_present_flag")
		p.DataCoding = d.byte("data_coding")
		p.SMDefaultMsgID = d.byte("sm_default_msg_id")
		n := int(d.byte("sm_length"))
		if d.err == nil && n > maxShortMsg {
			d.fail(StatusInvMsgLen, "sm_length %d", n)
		}
		p.ShortMessage = d.bytes(n, "short_message")
		p.TLVs = d.tlvs()
	case SubmitSMResp, DeliverSMResp:
		// §4.4.2: no body when the status is an error.
		if len(d.b) > 0 {
			p.MessageID = d.cstring(maxMessageID, "message_id")
		}
	default:
		return p, bad(p.Seq, StatusInvCmdID, "command_id %#08x", p.Command)
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail(StatusInvCmdLen, "%d octets after the body", len(d.b))
	}
	if d.err != nil {
		return p, d.err
	}
	return p, nil
}

type decoder struct {
	b   []byte
	seq uint32
	err error
}

func (d *decoder) fail(st Status, format string, args ...any) {
	if d.err == nil {
		d.err = bad(d.seq, st, format, args...)
	}
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(StatusInvCmdLen, "%s missing", field)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes(n int, field string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail(StatusInvCmdLen, "%s: %d octets of %d", field, len(d.b), n)
		return nil
	}
	var out []byte
	if n > 0 {
		out = append([]byte(nil), d.b[:n]...)
	}
	d.b = d.b[n:]
	return out
}

// cstring reads a NUL-terminated string of at most max octets, NUL included.
func (d *decoder) cstring(max int, field string) string {
	if d.err != nil {
		return ""
	}
	for i := 0; i < len(d.b) && i < max; i++ {
		if d.b[i] == 0 {
			s := string(d.b[:i])
			d.b = d.b[i+1:]
			return s
		}
	}
	d.fail(StatusInvCmdLen, "%s not terminated within %d octets", field, max)
	return ""
}

func (d *decoder) tlvs() []TLV {
	var out []TLV
	for d.err == nil && len(d.b) > 0 {
		if len(d.b) < 4 {
			d.fail(StatusInvOptParStream, "truncated optional parameter")
			return nil
		}
		tag := binary.BigEndian.Uint16(d.b)
		n := int(binary.BigEndian.Uint16(d.b[2:]))
		d.b = d.b[4:]
		v := d.bytes(n, "optional parameter")
		out = append(out, TLV{Tag: tag, Value: v})
	}
	return out
}

// Encode writes p as a whole PDU. It fails when a field is too long for
// the protocol or set on a command that has no such field.
func Encode(p PDU) ([]byte, error) {
	e := encoder{b: make([]byte, HeaderLen, 64+len(p.ShortMessage))}
	switch p.Command {
	case GenericNack, EnquireLink, EnquireLinkResp, Unbind, UnbindResp:
	case BindTransmitter, BindReceiver, BindTransceiver:
		e.cstring(p.SystemID, maxSystemID, "system_id")
		e.cstring(p.Password, maxPassword, "password")
		e.cstring(p.SystemType, maxSystemType, "system_type")
		e.b = append(e.b, p.InterfaceVersion, p.AddrTON, p.AddrNPI)
		e.cstring(p.AddressRange, maxAddrRange, "address_range")
	case BindTransmitterResp, BindReceiverResp, BindTransceiverResp:
		e.cstring(p.SystemID, maxSystemID, "system_id")
		e.tlvs(p.TLVs)
	case SubmitSM, DeliverSM:
		e.cstring(p.ServiceType, maxServiceType, "service_type")
		e.b = append(e.b, p.SourceTON, p.SourceNPI)
		e.cstring(p.Source, maxAddr, "source_addr")
		e.b = append(e.b, p.DestTON, p.DestNPI)
		e.cstring(p.Dest, maxAddr, "destination_addr")
		e.b = append(e.b, p.ESMClass, p.ProtocolID, p.Priority)
		e.cstring(p.ScheduleDeliveryTime, maxTime, "schedule_delivery_time")
		e.cstring(p.ValidityPeriod, maxTime, "validity_period")
		e.b = append(e.b, p.RegisteredDelivery, p.ReplaceIfPresent, p.DataCoding, p.SMDefaultMsgID)
		if len(p.ShortMessage) > maxShortMsg {
			e.fail("short_message of %d octets", len(p.ShortMessage))
		}
		e.b = append(e.b, byte(len(p.ShortMessage)))
		e.b = append(e.b, p.ShortMessage...)
		e.tlvs(p.TLVs)
	case SubmitSMResp, DeliverSMResp:
		e.cstring(p.MessageID, maxMessageID, "message_id")
	default:
		return nil, fmt.Errorf("smpp: encode: unknown command_id %#08x", p.Command)
	}
	if e.err != nil {
		return nil, e.err
	}
	if len(e.b) > MaxLen {
		return nil, fmt.Errorf("smpp: encode: PDU of %d octets", len(e.b))
	}
	binary.BigEndian.PutUint32(e.b[0:], uint32(len(e.b)))
	binary.BigEndian.PutUint32(e.b[4:], p.Command)
	binary.BigEndian.PutUint32(e.b[8:], uint32(p.Status))
	binary.BigEndian.PutUint32(e.b[12:], p.Seq)
	return e.b, nil
}

type encoder struct {
	b   []byte
	err error
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("smpp: encode: "+format, args...)
	}
}

func (e *encoder) cstring(s string, max int, field string) {
	if len(s) >= max {
		e.fail("%s longer than %d octets", field, max-1)
		return
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			e.fail("%s holds a NUL", field)
			return
		}
	}
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
}

func (e *encoder) tlvs(ts []TLV) {
	for _, t := range ts {
		if len(t.Value) > 0xFFFF {
			e.fail("optional parameter %#04x of %d octets", t.Tag, len(t.Value))
			return
		}
		e.b = binary.BigEndian.AppendUint16(e.b, t.Tag)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(len(t.Value)))
		e.b = append(e.b, t.Value...)
	}
}

// CommandName names a command ID for errors and logs.
func CommandName(id uint32) string {
	switch id {
	case GenericNack:
		return "generic_nack"
	case BindReceiver:
		return "bind_receiver"
	case BindReceiverResp:
		return "bind_receiver_resp"
	case BindTransmitter:
		return "bind_transmitter"
	case BindTransmitterResp:
		return "bind_transmitter_resp"
	case BindTransceiver:
		return "bind_transceiver"
	case BindTransceiverResp:
		return "bind_transceiver_resp"
	case SubmitSM:
		return "submit_sm"
	case SubmitSMResp:
		return "submit_sm_resp"
	case DeliverSM:
		return "deliver_sm"
	case DeliverSMResp:
		return "deliver_sm_resp"
	case Unbind:
		return "unbind"
	case UnbindResp:
		return "unbind_resp"
	case EnquireLink:
		return "enquire_link"
	case EnquireLinkResp:
		return "enquire_link_resp"
	}
	return fmt.Sprintf("command %#08x", id)
}
