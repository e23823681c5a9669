package smpp_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"civitas/internal/notify/smpp"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The octets of SMPP 3.4 PDUs written out by hand from the specification,
// so the encoder is judged by something it did not produce.
func TestEncodeAgainstSpecification(t *testing.T) {
	tests := []struct {
		name string
		pdu  smpp.PDU
		hex  string
	}{
		{"ok/bind_transmitter", smpp.PDU{Command: smpp.BindTransmitter, Seq: 1, SystemID: "civitas", Password: "pw", InterfaceVersion: 0x34},
			"00000020 00000002 00000000 00000001 63697669746173 00 7077 00 00 34 00 00 00"},
		{"ok/enquire_link", smpp.PDU{Command: smpp.EnquireLink, Seq: 7}, "00000010 00000015 00000000 00000007"},
		{"ok/generic_nack", smpp.PDU{Command: smpp.GenericNack, Status: smpp.StatusInvCmdID, Seq: 9}, "00000010 80000000 00000003 00000009"},
		{"ok/submit_sm in UCS-2", smpp.PDU{Command: smpp.SubmitSM, Seq: 2, SourceTON: 5, Source: "CIV", DestTON: 1, DestNPI: 1,
			Dest: "84912", DataCoding: 8, ShortMessage: []byte{0x01, 0x11}},
			"0000002b 00000004 00000000 00000002 00 05 00 434956 00 01 01 3834393132 00 00 00 00 00 00 00 00 08 00 02 0111"},
		{"ok/submit_sm_resp", smpp.PDU{Command: smpp.SubmitSMResp, Seq: 2, MessageID: "ab"}, "00000013 80000004 00000000 00000002 6162 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.hex)
			got, err := smpp.Encode(tt.pdu)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoded\n% x\nwant\n% x", got, want)
			}
			back, err := smpp.Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.pdu) {
				t.Fatalf("decoded %+v, want %+v", back, tt.pdu)
			}
		})
	}
}

// withHeader prepends a header of the right length to a body.
func withHeader(t testing.TB, command uint32, body string) string {
	b := mustHex(t, body)
	return hex.EncodeToString(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(
		binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(smpp.HeaderLen+len(b))), command), 0), 1)) + body
}

func TestDecodeRefuses(t *testing.T) {
	// submit_sm up to data_coding and sm_default_msg_id, all empty.
	const submitHead = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	tests := []struct {
		name   string
		hex    string
		status smpp.Status
	}{
		{"fail/shorter than a header", "0000000c 00000015 00000000", smpp.StatusInvCmdLen},
		{"fail/length disagrees", "00000011 00000015 00000000 00000001", smpp.StatusInvCmdLen},
		{"fail/unknown command", "00000010 00000099 00000000 00000001", smpp.StatusInvCmdID},
		{"fail/body on enquire_link", withHeader(t, smpp.EnquireLink, "00"), smpp.StatusInvCmdLen},
		{"fail/system_id not terminated", withHeader(t, smpp.BindTransmitter, strings.Repeat("41", 16)), smpp.StatusInvCmdLen},
		{"fail/short_message beyond the PDU", withHeader(t, smpp.SubmitSM, submitHead+" 05 0102"), smpp.StatusInvCmdLen},
		{"fail/short_message too long", withHeader(t, smpp.SubmitSM, submitHead+" ff"+strings.Repeat("00", 255)), smpp.StatusInvMsgLen},
		{"fail/truncated optional parameter", withHeader(t, smpp.SubmitSM, submitHead+" 00 0424 0005 00"), smpp.StatusInvCmdLen},
		{"fail/half an optional parameter header", withHeader(t, smpp.SubmitSM, submitHead+" 00 04"), smpp.StatusInvOptParStream},
		{"fail/bytes after a submit_sm_resp", withHeader(t, smpp.SubmitSMResp, "41 00 42"), smpp.StatusInvCmdLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := smpp.Decode(mustHex(t, tt.hex))
			var de *smpp.DecodeError
			if !errors.As(err, &de) || de.Status != tt.status {
				t.Fatalf("err = %v, want status %s", err, tt.status)
			}
		})
	}
	// The same header with an empty body is fine: the template is right.
	if _, err := smpp.Decode(mustHex(t, withHeader(t, smpp.SubmitSM, submitHead+" 00"))); err != nil {
		t.Fatalf("empty submit_sm: %v", err)
	}
	if _, err := smpp.ReadPDU(bytes.NewReader(mustHex(t, "7fffffff 00000015"))); err == nil {
		t.Fatal("ReadPDU accepted a 2 GiB length")
	}
	for _, p := range []smpp.PDU{
		{Command: smpp.BindTransmitter, SystemID: strings.Repeat("s", 16)},
		{Command: smpp.SubmitSM, ShortMessage: make([]byte, 255)},
		{Command: smpp.SubmitSM, Dest: "12\x0034"},
		{Command: 0x42},
	} {
		if _, err := smpp.Encode(p); err == nil {
			t.Fatalf("encoded %+v", p)
		}
	}
}

// FuzzPDU feeds the decoder what an SMSC (or anyone at its address) may
// send: it must never panic, and what it accepts must encode back to a
// PDU that decodes to the same.
func FuzzPDU(f *testing.F) {
	for _, p := range []smpp.PDU{
		{Command: smpp.BindTransmitterResp, Seq: 1, SystemID: "SMSC", TLVs: []smpp.TLV{{Tag: 0x0210, Value: []byte{0x34}}}},
		{Command: smpp.SubmitSMResp, Seq: 2, MessageID: "0123456789"},
		{Command: smpp.SubmitSMResp, Seq: 3, Status: smpp.StatusThrottled},
		{Command: smpp.DeliverSM, Seq: 4, Source: "84912345678", Dest: "CIVITAS", ESMClass: 0x04, DataCoding: 8,
			ShortMessage: []byte("id:1 sub:001 dlvrd:001 stat:DELIVRD"), TLVs: []smpp.TLV{{Tag: 0x001E, Value: []byte("1\x00")}, {Tag: 0x0427, Value: []byte{2}}}},
		{Command: smpp.EnquireLink, Seq: 5},
		{Command: smpp.Unbind, Seq: 6},
		{Command: smpp.GenericNack, Seq: 7, Status: smpp.StatusInvCmdLen},
	} {
		b, err := smpp.Encode(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add(mustHex(f, "00000010 80000004 00000058 00000003"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := smpp.ReadPDU(bytes.NewReader(b)); err != nil {
			return
		}
		p, err := smpp.Decode(b)
		if err != nil {
			return
		}
		out, err := smpp.Encode(p)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", p, err)
		}
		q, err := smpp.Decode(out)
		if err != nil {
			t.Fatalf("re-encoded PDU does not decode: %v", err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the PDU:\n%+v\n%+v", p, q)
		}
		if p.Command == smpp.DeliverSM || p.Command == smpp.SubmitSM {
			m, err := smpp.DecodeShortMessage(smpp.Coding(p.DataCoding), p.ESMClass&smpp.ESMClassUDHI != 0, p.ShortMessage)
			if err == nil && !utf8.ValidString(m.Text) {
				t.Fatalf("decoded text is not UTF-8: %q", m.Text)
			}
		}
	})
}

// FuzzSplit: any text split for sending reads back, part by part, as the
// same text in NFC, and no part is longer than a message.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "Mã xác thực 123456", strings.Repeat("{x}", 80), strings.Repeat("😀a", 50), "café", "\xff\xfe"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, latin bool) {
		ascii := smpp.CodingDefault
		if latin {
			ascii = smpp.CodingLatin1
		}
		coding, parts, err := smpp.Split(text, ascii, 42)
		if errors.Is(err, smpp.ErrTooLong) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, sm := range parts {
			if len(sm) > 140 && coding != smpp.CodingDefault || len(sm) > 160 {
				t.Fatalf("part %d of %d octets", i, len(sm))
			}
			p, err := smpp.DecodeShortMessage(coding, len(parts) > 1, sm)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) > 1 && (p.Ref != 42 || p.Count != len(parts) || p.Seq != i+1) {
				t.Fatalf("part %d: header %+v", i, p)
			}
			b.WriteString(p.Text)
		}
		if want := norm.NFC.String(strings.ToValidUTF8(text, "\uFFFD")); b.String() != want {
			t.Fatalf("read back %q, want %q", b.String(), want)
		}
	})
}

// BenchmarkSubmitVietnamese is the work per text sent: NFC, the choice of
// coding, the split into parts and the encoding of each submit_sm.
func BenchmarkSubmitVietnamese(b *testing.B) {
	text := "civitas: Mã xác thực đăng ký của bạn là 123456 (hiệu lực 10 phút). / Your registration code is 123456."
	b.ReportAllocs()
	for b.Loop() {
		coding, parts, err := smpp.Split(text, smpp.CodingDefault, 7)
		if err != nil {
			b.Fatal(err)
		}
		for _, sm := range parts {
			if _, err := smpp.Encode(smpp.PDU{Command: smpp.SubmitSM, Source: "CIVITAS", SourceTON: 5, Dest: "84912345678", DestTON: 1, DestNPI: 1,
				ESMClass: smpp.ESMClassUDHI, DataCoding: byte(coding), ShortMessage: sm}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeSubmitSMResp is the work per answer read.
func BenchmarkDecodeSubmitSMResp(b *testing.B) {
	pdu, _ := smpp.Encode(smpp.PDU{Command: smpp.SubmitSMResp, Seq: 42, MessageID: "0123456789abcdef"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := smpp.Decode(pdu); err != nil {
			b.Fatal(err)
		}
	}
}
