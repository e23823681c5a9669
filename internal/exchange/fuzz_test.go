package exchange

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
)

// FuzzQueryBody feeds anything to the query's reading and checks: no
// panic, and every refusal is Invalid (a 400), never an internal error.
func FuzzQueryBody(f *testing.F) {
	for _, s := range []string{
		`{"service":"population.person","subject":{"citizen_id":"099034091772"},"purpose":"tax","case_ref":"HS-1"}`,
		`{"service":"business.enterprise","subject":{"reg_number":"0100000001"},"purpose":"tax","case_ref":"x"}`,
		`{"service":"insurance.card@peer","subject":{"citizen_id":"099034091772"},"purpose":"health_care","case_ref":"\u0000"}`,
		`{"subject":{"citizen_id":1}}`, `{"subject":[]}`, `[]`, `{} {}`, `{"case_ref":"` + strings.Repeat("é", 200) + `"}`,
	} {
		f.Add([]byte(s))
	}
	cat, err := NewCatalogue(DefaultServices())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := httptest.NewRequest("POST", "/api/exchange/v1/query", bytes.NewReader(b))
		invalid := func(err error) {
			if err != nil && kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("%v: not a 400", err)
			}
		}
		var in queryBody
		if err := decodeStrict(r, &in); err != nil {
			invalid(err)
			return
		}
		ref, err := subjectOf(in.Subject)
		if err != nil {
			invalid(err)
			return
		}
		_, err = checkPurpose(in.Purpose)
		invalid(err)
		c, err := checkCaseRef(in.CaseRef)
		invalid(err)
		if err == nil && (c == "" || len([]rune(c)) > MaxCaseRef || strings.ContainsAny(c, "\x00\n\r")) {
			t.Fatalf("case %q accepted", c)
		}
		code, _, remote := strings.Cut(in.Service, "@")
		sp, err := cat.Spec(code)
		if remote || err != nil {
			invalid(err)
			return
		}
		got, err := checkSubject(sp, ref)
		invalid(err)
		if err == nil && (len(got.ID) > MaxSubjectID || got.Kind != sp.Subject) {
			t.Fatalf("subject %+v accepted for %s", got, sp.Code)
		}
	})
}

// FuzzVerifyReceipt: a receipt from anyone never panics the verifier and
// never verifies unless the root's key signed its chain.
func FuzzVerifyReceipt(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	root, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	seal := cachedSeal{signer: key, alg: "ES256", kid: "k", x5c: []string{base64.StdEncoding.EncodeToString(der)}}
	good, err := signReceipt(seal, ReceiptClaims{Consumer: "c", Service: "population.person", Subject: "099034091772", Purpose: "tax",
		CaseRef: "x", IssuedAt: time.Now().Unix(), DataSHA256: DataDigest([]byte("{}"))})
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := VerifyReceipt(good, pool); err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, s string) {
		_, cert, err := VerifyReceipt(s, pool)
		if err == nil && (cert == nil || !cert.Equal(root)) {
			t.Fatalf("verified %q", s)
		}
	})
}

// FuzzParseRoot: a peer's root file never panics the reader, and only a
// self-signed CA is taken.
func FuzzParseRoot(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseRoot(b)
		if err == nil && (!c.IsCA || !isSelfSigned(c)) {
			t.Fatal("took a certificate that is no root")
		}
	})
}
