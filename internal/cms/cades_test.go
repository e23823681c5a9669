package cms_test

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pki/pkitest"
)

type stamperFunc func(ctx context.Context, digest []byte) ([]byte, error)

func (f stamperFunc) Stamp(ctx context.Context, digest []byte) ([]byte, error) { return f(ctx, digest) }

// A detached CAdES signature made from a stream, at B-B and at B-T (what
// `civitas seal --out X.p7s` makes): it verifies here and with openssl.
func TestSignDetached(t *testing.T) {
	key := pkitest.ECKey(t, elliptic.P256())
	p := newTestPKI(t, key)
	a := p.authority(t, nil)
	tsa := stamperFunc(func(_ context.Context, d []byte) ([]byte, error) { return stamp(t, a, d, true), nil })
	content := randomContent(t, 300_000)
	o := p.signOptions()
	o.SigningTime = time.Now()
	for _, tc := range []struct {
		name    string
		tsa     cms.Stamper
		stamped bool
	}{{"ok/B-B", nil, false}, {"ok/B-T", tsa, true}} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := cms.SignDetached(context.Background(), bytes.NewReader(content), key, o, tc.tsa)
			if err != nil {
				t.Fatal(err)
			}
			res, err := cms.Verify(der, sum256(content), p.verifyOptions())
			if err != nil {
				t.Fatal(err)
			}
			if (res.Timestamp != nil) != tc.stamped {
				t.Fatalf("time-stamp: %v, want %v", res.Timestamp != nil, tc.stamped)
			}
			pkitest.NeedOpenSSL(t)
			dir := t.TempDir()
			out := pkitest.OpenSSL(t, "cms", "-verify", "-binary", "-inform", "DER", "-in", pkitest.WriteFile(t, dir, "sig.p7s", der),
				"-content", pkitest.WriteFile(t, dir, "d", content), "-CAfile", pkitest.WritePEM(t, dir, "ca.pem", p.Root.Cert),
				"-purpose", "any", "-cades", "-out", os.DevNull)
			if !strings.Contains(out, "Verification successful") {
				t.Fatalf("openssl: %s", out)
			}
		})
	}
	t.Run("fail/tsa down", func(t *testing.T) {
		down := stamperFunc(func(context.Context, []byte) ([]byte, error) { return nil, errors.New("connection refused") })
		if _, err := cms.SignDetached(context.Background(), bytes.NewReader(content), key, o, down); err == nil {
			t.Fatal("B-T without a time-stamp")
		}
	})
}
