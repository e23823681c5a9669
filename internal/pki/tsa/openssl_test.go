package tsa_test

import (
	"bytes"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/pki/pkitest"
	"civitas/internal/pki/tsa"
)

// OpenSSL, an independent implementation, makes the queries and verifies
// our replies: signature, chain to the CA, ESSCertIDv2, imprint, nonce and
// policy.
func TestOpenSSL(t *testing.T) {
	pkitest.NeedOpenSSL(t)
	keys := map[string]crypto.Signer{"ecdsa-p256": pkitest.Key(t), "rsa-3072": pkitest.RSAKey(t, 3072)}
	for _, kind := range []string{"ecdsa-p256", "rsa-3072"} {
		p := newTestPKI(t, keys[kind])
		a := p.Authority(t)
		for _, tc := range []struct {
			name    string
			certReq bool
			policy  bool
			chain   bool
		}{
			{"ok/certificates-in-reply", true, true, true},
			{"ok/certificates-outside", false, false, true},
			{"ok/no-chain-given", true, false, false},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				a := a
				if !tc.chain {
					a = p.Authority(t, func(o *tsa.Options) { o.Chain = nil })
				}
				dir := t.TempDir()
				data := filepath.Join(dir, "document.txt")
				if err := os.WriteFile(data, []byte("Quyết định số 42/QĐ-UBND\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				ca := pkitest.WritePEM(t, dir, "ca.pem", p.Root.Cert)
				untrusted := pkitest.WritePEM(t, dir, "tsa.pem", p.TSA.Cert, p.Officials.Cert)
				tsq, tsr := filepath.Join(dir, "req.tsq"), filepath.Join(dir, "resp.tsr")

				query := []string{"ts", "-query", "-data", data, "-sha256", "-out", tsq}
				if tc.certReq {
					query = append(query, "-cert")
				}
				if tc.policy {
					query = append(query, "-tspolicy", pkitest.TSAPolicy.String())
				}
				pkitest.OpenSSL(t, query...)
				req, err := os.ReadFile(tsq)
				if err != nil {
					t.Fatal(err)
				}
				resp := a.Respond(req)
				if err := os.WriteFile(tsr, resp, 0o600); err != nil {
					t.Fatal(err)
				}
				tok := wantToken(t, resp, p.TSA.Cert)
				wantCerts := map[bool]int{true: 2, false: 0}[tc.certReq]
				if !tc.chain && tc.certReq {
					wantCerts = 1
				}
				if tok.certs != wantCerts {
					t.Errorf("%d certificates in the token, want %d", tok.certs, wantCerts)
				}

				// With the certificates in the reply the CA alone must be
				// enough; otherwise the verifier is given the TSA's.
				extra := []string{"-CAfile", ca}
				if !tc.certReq || !tc.chain {
					extra = append(extra, "-untrusted", untrusted)
				}
				out := pkitest.OpenSSL(t, append([]string{"ts", "-verify", "-data", data, "-in", tsr}, extra...)...)
				if !strings.Contains(out, "Verification: OK") {
					t.Fatalf("verify -data: %s", out)
				}
				// Against the query: also the nonce, version and policy.
				out = pkitest.OpenSSL(t, append([]string{"ts", "-verify", "-queryfile", tsq, "-in", tsr}, extra...)...)
				if !strings.Contains(out, "Verification: OK") {
					t.Fatalf("verify -queryfile: %s", out)
				}

				// The check is not vacuous: one changed digit of genTime's year
				// breaks the messageDigest, and OpenSSL says so.
				tampered := bytes.Clone(resp)
				at := bytes.Index(tampered, tok.info.GenTime.FullBytes) + 5 // the year's last digit
				tampered[at] = '0' + (tampered[at]-'0'+1)%10
				bad := filepath.Join(dir, "tampered.tsr")
				if err := os.WriteFile(bad, tampered, 0o600); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command("openssl", append([]string{"ts", "-verify", "-data", data, "-in", bad}, extra...)...).CombinedOutput(); err == nil {
					t.Fatalf("a tampered token verifies: %s", out)
				}

				text := pkitest.OpenSSL(t, "ts", "-reply", "-in", tsr, "-text")
				nonce := regexp.MustCompile(`Nonce: (\S+)`).FindStringSubmatch(pkitest.OpenSSL(t, "ts", "-query", "-in", tsq, "-text"))
				if nonce == nil {
					t.Fatal("openssl wrote no nonce in the query")
				}
				for _, want := range []string{"Status: Granted.", "Policy OID: " + pkitest.TSAPolicy.String(), "Nonce: " + nonce[1], "Accuracy: 0x01 seconds", "Ordering: no", "CN=Civitas TSA"} {
					if !strings.Contains(text, want) {
						t.Errorf("reply text lacks %q:\n%s", want, text)
					}
				}
			})
		}
	}
}

// OpenSSL reads our refusals too.
func TestOpenSSLRefusal(t *testing.T) {
	pkitest.NeedOpenSSL(t)
	p := newTestPKI(t, pkitest.Key(t))
	a := p.Authority(t)
	dir := t.TempDir()
	data, tsq, tsr := filepath.Join(dir, "d"), filepath.Join(dir, "req.tsq"), filepath.Join(dir, "resp.tsr")
	if err := os.WriteFile(data, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	pkitest.OpenSSL(t, "ts", "-query", "-data", data, "-sha1", "-out", tsq)
	req, err := os.ReadFile(tsq)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tsr, a.Respond(req), 0o600); err != nil {
		t.Fatal(err)
	}
	text := pkitest.OpenSSL(t, "ts", "-reply", "-in", tsr, "-text")
	for _, want := range []string{"Status: Rejected.", "unrecognized or unsupported algorithm identifier", "SHA-256"} {
		if !strings.Contains(text, want) {
			t.Errorf("reply text lacks %q:\n%s", want, text)
		}
	}
}
