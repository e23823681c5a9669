package tsa_test

import (
	"testing"

	"civitas/internal/pki/pkitest"
)

// FuzzRespond: whatever arrives, Respond answers with one parseable
// TimeStampResp, a refusal or a token that verifies; never a panic.
func FuzzRespond(f *testing.F) {
	p := newTestPKI(f, pkitest.Key(f))
	a := p.Authority(f)
	valid := marshal(f, sha256Req("seed"))
	f.Add(valid)
	f.Add(append(append([]byte{}, valid...), 0))
	f.Add(valid[:len(valid)-3])
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, req []byte) {
		resp := a.Respond(req)
		r := pkitest.ParseStampResponse(t, resp)
		switch r.Status.Status {
		case 0:
			wantToken(t, resp, p.TSA.Cert)
		case 2:
			if len(r.Token.FullBytes) != 0 || r.Status.FailInfo.BitLength == 0 {
				t.Fatalf("a rejection with a token or without a reason: %x", resp)
			}
		default:
			t.Fatalf("status %d", r.Status.Status)
		}
	})
}
