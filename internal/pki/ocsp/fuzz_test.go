package ocsp

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"
)

// FuzzHandler: whatever arrives as a POST body or a GET path, the handler
// answers HTTP 200 with an OCSP response that parses (an error status is
// fine), and never panics.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f, "civitas Fuzz CA", nil)
	h := NewHandler(fx.r)
	req := fx.ca.request(f, fx.good, crypto.SHA1)
	f.Add(req)
	f.Add(fx.ca.request(f, fx.revoked, crypto.SHA256))
	f.Add(fx.ca.request(f, fx.unknown, crypto.SHA512))
	f.Add(withExtensions(f, req, nonceExtension(f, bytes.Repeat([]byte{1}, 16))))
	f.Add(withExtensions(f, req, nonceExtension(f, bytes.Repeat([]byte{1}, 33))))
	f.Add([]byte(base64.StdEncoding.EncodeToString(req)))
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x30})
	f.Add([]byte("%2F%%"))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(how string, w *httptest.ResponseRecorder) {
			if w.Code != http.StatusOK {
				t.Fatalf("%s: HTTP %d", how, w.Code)
			}
			resp, err := xocsp.ParseResponse(w.Body.Bytes(), fx.ca.Cert)
			var re xocsp.ResponseError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("%s: %v", how, err)
			}
			if err == nil && resp.Certificate == nil {
				t.Fatalf("%s: a signed response without the signer's certificate", how)
			}
		}
		check("POST", serve(h, "POST", "", "application/ocsp-request", data))
		check("GET raw", serve(h, "GET", "/"+string(data), "", nil))
		check("GET base64", serve(h, "GET", "/"+base64.StdEncoding.EncodeToString(data), "", nil))
	})
}
