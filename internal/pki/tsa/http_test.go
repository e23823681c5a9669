package tsa_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civitas/internal/pki/pkitest"
)

// The RFC 3161 §3.4 transport, through a real HTTP server.
func TestServeHTTP(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	srv := httptest.NewServer(p.Authority(t))
	defer srv.Close()
	valid := marshal(t, sha256Req("over http"))
	const query = "application/timestamp-query"
	for _, tc := range []struct {
		name        string
		method      string
		contentType string
		body        []byte
		status      int
		reply       int // -1: a token; otherwise the failure bit; ignored unless status is 200
		header      string
	}{
		{"ok/post", http.MethodPost, query, valid, http.StatusOK, -1, ""},
		{"ok/post-with-parameter", http.MethodPost, query + "; charset=binary", valid, http.StatusOK, -1, ""},
		{"fail/get", http.MethodGet, "", nil, http.StatusMethodNotAllowed, 0, "Allow: POST"},
		{"fail/put", http.MethodPut, query, valid, http.StatusMethodNotAllowed, 0, "Allow: POST"},
		{"fail/wrong-type", http.MethodPost, "application/octet-stream", valid, http.StatusUnsupportedMediaType, 0, ""},
		{"fail/no-type", http.MethodPost, "", valid, http.StatusUnsupportedMediaType, 0, ""},
		{"fail/bad-type", http.MethodPost, "application/", valid, http.StatusUnsupportedMediaType, 0, ""},
		{"fail/garbage", http.MethodPost, query, []byte("garbage"), http.StatusOK, badRequest, ""},
		{"fail/empty", http.MethodPost, query, nil, http.StatusOK, badRequest, ""},
		{"fail/oversized", http.MethodPost, query, bytes.Repeat([]byte{0x30}, 64<<10), http.StatusOK, badRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+"/tsa", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if name, value, ok := strings.Cut(tc.header, ": "); ok && resp.Header.Get(name) != value {
				t.Errorf("%s: %q, want %q", name, resp.Header.Get(name), value)
			}
			if tc.status != http.StatusOK {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/timestamp-reply" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.reply < 0 {
				wantToken(t, body, p.TSA.Cert)
				return
			}
			wantRefusal(t, body, tc.reply)
		})
	}
}
