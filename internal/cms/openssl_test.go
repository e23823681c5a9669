package cms_test

import (
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pki/pkitest"
)

// OpenSSL, an independent implementation, verifies what we sign (and checks
// our ESS signing-certificate-v2 with -cades), and signs what we verify.

func TestOpenSSLVerifiesOurs(t *testing.T) {
	pkitest.NeedOpenSSL(t)
	keys := map[string]crypto.Signer{"ecdsa-p256": pkitest.ECKey(t, elliptic.P256()), "rsa-2048": pkitest.RSAKey(t, 2048)}
	for _, kind := range []string{"ecdsa-p256", "rsa-2048"} {
		t.Run("ok/"+kind, func(t *testing.T) {
			p := newTestPKI(t, keys[kind])
			dir := t.TempDir()
			content := randomContent(t, 10_000)
			file := pkitest.WriteFile(t, dir, "document.bin", content)
			ca := pkitest.WritePEM(t, dir, "ca.pem", p.Root.Cert)
			o := p.signOptions()
			o.SigningTime = time.Now()
			sig := sign(t, sum256(content), p.Signer.Key, o)
			p7s := pkitest.WriteFile(t, dir, "sig.p7s", sig)

			verify := []string{"cms", "-verify", "-binary", "-inform", "DER", "-in", p7s, "-content", file, "-CAfile", ca, "-purpose", "any", "-out", os.DevNull}
			if out := pkitest.OpenSSL(t, verify...); !strings.Contains(out, "Verification successful") {
				t.Fatalf("openssl: %s", out)
			}
			if out := pkitest.OpenSSL(t, append(verify, "-cades")...); !strings.Contains(out, "Verification successful") {
				t.Fatalf("openssl -cades: %s", out)
			}
			text := pkitest.OpenSSL(t, "cms", "-cmsout", "-print", "-inform", "DER", "-in", p7s)
			for _, want := range []string{"id-smime-aa-signingCertificateV2", "signingTime", "messageDigest", "contentType", "CN=Civitas Citizens CA"} {
				if !strings.Contains(text, want) {
					t.Errorf("openssl -print lacks %q:\n%s", want, text)
				}
			}

			// One changed byte of the content: OpenSSL and we both say no.
			content[len(content)/2] ^= 0x20
			pkitest.WriteFile(t, dir, "document.bin", content)
			if out, err := exec.Command("openssl", verify...).CombinedOutput(); err == nil {
				t.Fatalf("openssl accepts changed content: %s", out)
			}
			_, err := cms.Verify(sig, sum256(content), p.verifyOptions())
			wantReason(t, err, cms.ErrDigestMismatch)
		})
	}
}

func TestWeVerifyOpenSSL(t *testing.T) {
	pkitest.NeedOpenSSL(t)
	keys := map[string]crypto.Signer{"ecdsa-p256": pkitest.ECKey(t, elliptic.P256()), "rsa-2048": pkitest.RSAKey(t, 2048)}
	for _, kind := range []string{"ecdsa-p256", "rsa-2048"} {
		p := newTestPKI(t, keys[kind])
		second := newTestPKI(t, pkitest.ECKey(t, elliptic.P256()))
		dir := t.TempDir()
		content := randomContent(t, 5000)
		file := pkitest.WriteFile(t, dir, "document.bin", content)
		cert := pkitest.WritePEM(t, dir, "cert.pem", p.Signer.Cert)
		key := pkitest.WriteKey(t, dir, "key.pem", p.Signer.Key)
		issuer := pkitest.WritePEM(t, dir, "issuer.pem", p.Citizens.Cert)
		cert2 := pkitest.WritePEM(t, dir, "cert2.pem", second.Signer.Cert)
		key2 := pkitest.WriteKey(t, dir, "key2.pem", second.Signer.Key)
		base := []string{"cms", "-sign", "-binary", "-outform", "DER", "-signer", cert, "-inkey", key, "-in", file, "-nosmimecap"}

		for _, tc := range []struct {
			name string
			args []string
			// intermediates: the issuing CA is given to Verify, not in the signature
			intermediates bool
			want          error
		}{
			{"ok/sha256", []string{"-md", "sha256"}, true, nil},
			{"ok/sha256 cades", []string{"-md", "sha256", "-cades"}, true, nil},
			{"ok/sha384 cades with chain", []string{"-md", "sha384", "-cades", "-certfile", issuer}, false, nil},
			{"ok/sha512 with smime capabilities", []string{"-md", "sha512"}, true, nil},
			{"fail/no chain", []string{"-md", "sha256"}, false, cms.ErrUntrusted},
			{"fail/sha1", []string{"-md", "sha1"}, true, cms.ErrUnsupportedAlgorithm},
			{"fail/content inside", []string{"-md", "sha256", "-nodetach"}, true, cms.ErrNotDetached},
			{"fail/no signed attributes", []string{"-md", "sha256", "-noattr"}, true, cms.ErrMissingAttribute},
			{"fail/two signers", []string{"-md", "sha256", "-signer", cert2, "-inkey", key2}, true, cms.ErrSignerCount},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				out := filepath.Join(dir, "o.p7s")
				args := append(append([]string{}, base...), tc.args...)
				if strings.Contains(tc.name, "smime capabilities") {
					args = slices.DeleteFunc(args, func(a string) bool { return a == "-nosmimecap" })
				}
				pkitest.OpenSSL(t, append(args, "-out", out)...)
				der, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				o := p.verifyOptions()
				if tc.intermediates {
					o.Intermediates = x509.NewCertPool()
					o.Intermediates.AddCert(p.Citizens.Cert)
				}
				h := crypto.SHA256
				if tc.want == nil {
					if h, err = cms.DigestAlgorithm(der); err != nil {
						t.Fatal(err)
					}
				}
				w := h.New()
				w.Write(content)
				res, err := cms.Verify(der, w.Sum(nil), o)
				if tc.want != nil {
					wantReason(t, err, tc.want)
					return
				}
				if err != nil {
					t.Fatalf("Verify: %v\n%s", err, pkitest.OpenSSL(t, "cms", "-cmsout", "-print", "-inform", "DER", "-in", out))
				}
				if !res.Signer.Equal(p.Signer.Cert) || res.Hash != h || res.SigningTime.IsZero() || time.Since(res.SigningTime) > time.Minute {
					t.Fatalf("result %+v", res)
				}
			})
		}
	}
	t.Run("fail/rsa-pss", func(t *testing.T) {
		p := newTestPKI(t, pkitest.RSAKey(t, 2048))
		dir := t.TempDir()
		content := randomContent(t, 100)
		out := filepath.Join(dir, "o.p7s")
		pkitest.OpenSSL(t, "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256", "-nosmimecap",
			"-signer", pkitest.WritePEM(t, dir, "cert.pem", p.Signer.Cert), "-inkey", pkitest.WriteKey(t, dir, "key.pem", p.Signer.Key),
			"-keyopt", "rsa_padding_mode:pss", "-in", pkitest.WriteFile(t, dir, "d", content), "-out", out)
		der, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cms.Verify(der, sum256(content), p.verifyOptions())
		wantReason(t, err, cms.ErrUnsupportedAlgorithm)
	})
}
