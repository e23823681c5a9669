package tsa_test

import (
	"bytes"
	"encoding/asn1"
	"testing"

	"civitas/internal/pki/pkitest"
)

// Queries are parsed strictly; each fault gets its own failure bit.
func TestRespondQueries(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	a := p.Authority(t)
	valid := marshal(t, sha256Req("doc"))
	with := func(edit func(*pkitest.TimeStampReq)) []byte {
		r := sha256Req("doc")
		edit(&r)
		return marshal(t, r)
	}
	imprint := func(oid asn1.ObjectIdentifier, n int) func(*pkitest.TimeStampReq) {
		return func(r *pkitest.TimeStampReq) {
			r.MessageImprint = pkitest.MessageImprint{HashAlgorithm: pkitest.AlgorithmIdentifier{Algorithm: oid}, HashedMessage: bytes.Repeat([]byte{7}, n)}
		}
	}
	// A nonce of 1 written in two octets: BER, not DER.
	longNonce := bytes.Replace(marshal(t, sha256Req("doc")), []byte{0x02, 0x08, 0x12, 0x34}, []byte{0x02, 0x09, 0x00, 0x12, 0x34}, 1)
	longNonce[1]++
	// The same query with an indefinite length: BER, not DER.
	indefinite := append(append([]byte{0x30, 0x80}, valid[2:]...), 0, 0)

	for _, tc := range []struct {
		name string
		req  []byte
		bit  int // -1: a token
	}{
		{"ok/sha256", valid, -1},
		{"ok/sha384", with(imprint(oidSHA384, 48)), -1},
		{"ok/sha512", with(imprint(oidSHA512, 64)), -1},
		{"ok/null-parameters", with(func(r *pkitest.TimeStampReq) { r.MessageImprint.HashAlgorithm.Parameters = asn1.NullRawValue }), -1},
		{"ok/our-policy", with(func(r *pkitest.TimeStampReq) { r.ReqPolicy = pkitest.TSAPolicy }), -1},
		{"ok/certreq-false-written-out", with(func(r *pkitest.TimeStampReq) { r.CertReq = pkitest.False }), -1},
		{"ok/no-nonce-no-certreq", with(func(r *pkitest.TimeStampReq) { r.Nonce, r.CertReq = nil, asn1.RawValue{} }), -1},
		{"fail/sha1", with(imprint(oidSHA1, 20)), badAlg},
		{"fail/unknown-hash", with(imprint(asn1.ObjectIdentifier{1, 2, 3}, 32)), badAlg},
		{"fail/sha256-with-parameters", with(func(r *pkitest.TimeStampReq) {
			r.MessageImprint.HashAlgorithm.Parameters = asn1.RawValue{FullBytes: []byte{0x04, 0x00}}
		}), badAlg},
		{"fail/imprint-too-short", with(imprint(oidSHA256, 20)), badDataFormat},
		{"fail/imprint-too-long", with(imprint(oidSHA256, 64)), badDataFormat},
		{"fail/other-policy", with(func(r *pkitest.TimeStampReq) { r.ReqPolicy = asn1.ObjectIdentifier{1, 2, 3, 4} }), unacceptedPolicy},
		{"fail/extensions", with(func(r *pkitest.TimeStampReq) {
			r.Extensions = asn1.RawValue{FullBytes: []byte{0xa0, 0x0b, 0x30, 0x09, 0x30, 0x07, 0x06, 0x02, 0x2a, 0x03, 0x04, 0x01, 0x00}}
		}), unacceptedExtension},
		{"fail/version-2", with(func(r *pkitest.TimeStampReq) { r.Version = 2 }), badRequest},
		{"fail/garbage", []byte("GET / HTTP/1.1\r\n\r\n"), badRequest},
		{"fail/empty", nil, badRequest},
		{"fail/trailing-bytes", append(append([]byte{}, valid...), 0), badRequest},
		{"fail/truncated", valid[:len(valid)-1], badRequest},
		{"fail/indefinite-length", indefinite, badRequest},
		{"fail/nonce-not-minimal", longNonce, badRequest},
		{"fail/bad-boolean", bytes.Replace(valid, []byte{0x01, 0x01, 0xff}, []byte{0x01, 0x01, 0x01}, 1), badRequest},
		{"fail/fields-out-of-order", with(func(r *pkitest.TimeStampReq) {
			r.CertReq = asn1.RawValue{FullBytes: append([]byte{0x01, 0x01, 0xff}, 0x02, 0x01, 0x05)} // certReq, then an INTEGER
		}), badRequest},
		{"fail/too-large", with(imprint(oidSHA256, 5000)), badRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := a.Respond(tc.req)
			if tc.bit < 0 {
				wantToken(t, resp, p.TSA.Cert)
				return
			}
			wantRefusal(t, resp, tc.bit)
		})
	}
}
