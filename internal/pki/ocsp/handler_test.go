package ocsp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"
)

// serve sends one request through h and returns the recorder.
func serve(h http.Handler, method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL.Path = path
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestHandler is the HTTP scenario table: method, path or body, and the
// HTTP and OCSP answers expected.
func TestHandler(t *testing.T) {
	a := newFixture(t, "civitas Test CA A", nil)
	b := newFixture(t, "civitas Test CA B", selfSigned)
	stranger := newFixture(t, "civitas Stranger CA", nil)
	down := newFixture(t, "civitas Down CA", nil)
	down.src.Fail(errStoreDown)
	h := NewHandler(a.r, b.r, down.r)

	reqA := a.ca.request(t, a.good, crypto.SHA1)
	nonce := bytes.Repeat([]byte{7}, 16)
	wrongNonce, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagInteger, Bytes: []byte{1}})
	const ct = "application/ocsp-request"
	get := func(der []byte) string { return "/" + base64.StdEncoding.EncodeToString(der) }

	tests := []struct {
		name              string
		method, path, ct  string
		body              []byte
		code              int
		ocspErr           xocsp.ResponseStatus // for an error response
		fx                *fixture             // for a signed response: whose CA signed
		cert              func(*fixture) (*x509.Certificate, int)
		wantNonce         []byte
		cacheable, revoke bool
	}{
		{name: "ok/post-good", method: "POST", ct: ct, body: reqA, code: 200, fx: a, cert: goodOf},
		{name: "ok/post-without-content-type", method: "POST", body: reqA, code: 200, fx: a, cert: goodOf},
		{name: "ok/get-good", method: "GET", path: get(reqA), code: 200, fx: a, cert: goodOf, cacheable: true},
		{name: "ok/head-good", method: "HEAD", path: get(reqA), code: 200, fx: a, cert: nil, cacheable: true},
		{name: "ok/get-revoked-sha256", method: "GET", path: get(a.ca.request(t, a.revoked, crypto.SHA256)), code: 200, fx: a, cert: revokedOf, cacheable: true},
		{name: "ok/post-unknown", method: "POST", ct: ct, body: a.ca.request(t, a.unknown, crypto.SHA1), code: 200, fx: a, cert: unknownOf},
		{name: "ok/second-ca", method: "POST", ct: ct, body: b.ca.request(t, b.good, crypto.SHA256), code: 200, fx: b, cert: goodOf},
		{name: "ok/second-ca-revoked", method: "GET", path: get(b.ca.request(t, b.revoked, crypto.SHA1)), code: 200, fx: b, cert: revokedOf, cacheable: true},
		{name: "ok/nonce", method: "POST", ct: ct, body: withExtensions(t, reqA, nonceExtension(t, nonce)), code: 200, fx: a, cert: goodOf, wantNonce: nonce},
		{name: "ok/nonce-32", method: "POST", ct: ct, body: withExtensions(t, reqA, nonceExtension(t, bytes.Repeat([]byte{9}, 32))), code: 200, fx: a, cert: goodOf, wantNonce: bytes.Repeat([]byte{9}, 32)},
		{name: "ok/nonce-by-get", method: "GET", path: get(withExtensions(t, reqA, nonceExtension(t, nonce))), code: 200, fx: a, cert: goodOf, wantNonce: nonce},
		{name: "ok/other-extension-ignored", method: "POST", ct: ct, body: withExtensions(t, reqA, pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}), code: 200, fx: a, cert: goodOf},
		{name: "fail/nonce-33", method: "POST", ct: ct, body: withExtensions(t, reqA, nonceExtension(t, bytes.Repeat([]byte{9}, 33))), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/nonce-empty", method: "POST", ct: ct, body: withExtensions(t, reqA, nonceExtension(t, []byte{})), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/nonce-not-octet-string", method: "POST", ct: ct, body: withExtensions(t, reqA, pkix.Extension{Id: oidNonce, Value: wrongNonce}), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/nonce-twice", method: "POST", ct: ct, body: withExtensions(t, reqA, nonceExtension(t, nonce), nonceExtension(t, nonce)), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/unknown-issuer", method: "POST", ct: ct, body: stranger.ca.request(t, stranger.good, crypto.SHA1), code: 200, ocspErr: xocsp.Unauthorized},
		{name: "fail/unknown-issuer-by-get", method: "GET", path: get(stranger.ca.request(t, stranger.good, crypto.SHA256)), code: 200, ocspErr: xocsp.Unauthorized},
		{name: "fail/source-down", method: "POST", ct: ct, body: down.ca.request(t, down.good, crypto.SHA1), code: 200, ocspErr: xocsp.TryLater},
		{name: "fail/garbage-post", method: "POST", ct: ct, body: []byte("hello, responder"), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/empty-post", method: "POST", ct: ct, code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/trailing-data", method: "POST", ct: ct, body: append(append([]byte{}, reqA...), 0), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/too-large", method: "POST", ct: ct, body: append(append([]byte{}, reqA...), make([]byte, maxRequest)...), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/garbage-get", method: "GET", path: "/not base64!", code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/empty-get", method: "GET", path: "/", code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/get-too-long", method: "GET", path: "/" + strings.Repeat("M", 20000), code: 200, ocspErr: xocsp.Malformed},
		{name: "fail/put", method: "PUT", ct: ct, body: reqA, code: 405},
		{name: "fail/delete", method: "DELETE", path: get(reqA), code: 405},
		{name: "fail/wrong-content-type", method: "POST", ct: "application/json", body: reqA, code: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, tt.method, tt.path, tt.ct, tt.body)
			if w.Code != tt.code {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if tt.code != 200 {
				if tt.code == 405 && w.Header().Get("Allow") != "GET, HEAD, POST" {
					t.Errorf("Allow %q", w.Header().Get("Allow"))
				}
				return
			}
			if got := w.Header().Get("Content-Type"); got != "application/ocsp-response" {
				t.Errorf("Content-Type %q", got)
			}
			cc := w.Header().Get("Cache-Control")
			if tt.cacheable != strings.Contains(cc, "max-age=") || tt.cacheable && (!strings.Contains(cc, "public") || w.Header().Get("ETag") == "") {
				t.Errorf("Cache-Control %q ETag %q", cc, w.Header().Get("ETag"))
			}
			if tt.ocspErr != 0 {
				_, err := xocsp.ParseResponse(w.Body.Bytes(), nil)
				var re xocsp.ResponseError
				if !errors.As(err, &re) || re.Status != tt.ocspErr {
					t.Fatalf("got %v, want OCSP status %v", err, tt.ocspErr)
				}
				return
			}
			if tt.cert == nil { // HEAD: headers only
				return
			}
			leaf, want := tt.cert(tt.fx)
			resp, err := xocsp.ParseResponseForCert(w.Body.Bytes(), leaf, tt.fx.ca.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != want || resp.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
				t.Errorf("status %d serial %x, want %d %x", resp.Status, resp.SerialNumber, want, leaf.SerialNumber)
			}
			// A response signed for another CA must not verify with this one's key.
			other := a
			if tt.fx == a {
				other = b
			}
			if resp.Certificate == nil && resp.CheckSignatureFrom(other.ca.Cert) == nil {
				t.Error("signature verifies under the other CA")
			}
			var got []byte
			for _, e := range tbsOf(t, w.Body.Bytes()).Extensions {
				if e.Id.Equal(oidNonce) {
					if _, err := asn1.Unmarshal(e.Value, &got); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !bytes.Equal(got, tt.wantNonce) {
				t.Errorf("nonce %x, want %x", got, tt.wantNonce)
			}
		})
	}
}

func goodOf(f *fixture) (*x509.Certificate, int)    { return f.good, xocsp.Good }
func revokedOf(f *fixture) (*x509.Certificate, int) { return f.revoked, xocsp.Revoked }
func unknownOf(f *fixture) (*x509.Certificate, int) { return f.unknown, xocsp.Unknown }

// TestNonceNotCached: every nonce request reads the Source and signs, and
// leaves the cache alone.
func TestNonceNotCached(t *testing.T) {
	f := newFixture(t, "civitas Test CA", nil)
	h := NewHandler(f.r)
	req := f.ca.request(t, f.good, crypto.SHA1)
	var bodies [][]byte
	for i := range 3 {
		body := withExtensions(t, req, nonceExtension(t, bytes.Repeat([]byte{byte(i + 1)}, 16)))
		w := serve(h, "POST", "", "application/ocsp-request", body)
		if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("HTTP %d Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
		}
		bodies = append(bodies, w.Body.Bytes())
	}
	if n := f.src.Calls(); n != 3 {
		t.Errorf("Source read %d times for 3 nonce requests", n)
	}
	if n := f.r.size.Load(); n != 0 {
		t.Errorf("cache holds %d serials", n)
	}
	if bytes.Equal(bodies[0], bodies[1]) {
		t.Error("two nonce requests got the same bytes")
	}
}
