package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary paths and headers through the whole chain:
// whatever arrives, the answer is never a 5xx, always carries a safe request
// ID: the incoming one when it is safe, a new one otherwise.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f)
	f.Add("/", "en-GB,en;q=0.9", "text/html", "abc-1", "lang=ar")
	f.Add("/no-such-page", "*;q=0", "application/json;q=0.9, text/html;q=x", "<script>", "")
	f.Add("/static/app.css", "ar;q=1.0000001", "*/*", strings.Repeat("a", 65), "lang=en; civitas_session=aaaa")
	f.Add("/api/v1/thing/%2e%2e", ";;;", ",,,", "", "civitas_session="+strings.Repeat("a", tokenLen))
	f.Fuzz(func(t *testing.T, path, acceptLang, accept, requestID, cookie string) {
		u, err := url.Parse("http://civitas.test" + path)
		if err != nil || u.Host != "civitas.test" {
			return
		}
		req := httptest.NewRequest("GET", "http://civitas.test/", nil)
		req.URL = u
		req.RequestURI = u.RequestURI()
		req.Header.Set("Accept-Language", acceptLang)
		req.Header.Set("Accept", accept)
		req.Header.Set("X-Request-ID", requestID)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, req)
		if w.Code >= 500 && u.Path != "/test/panic" && u.Path != "/test/internal" && u.Path != "/test/nopage" {
			t.Fatalf("GET %q: %d\n%s", path, w.Code, w.Body)
		}
		got := w.Header().Get("X-Request-ID")
		if !validRequestID(got) || (got == requestID) != validRequestID(requestID) {
			t.Fatalf("request ID %q answered with %q", requestID, got)
		}
	})
}

func FuzzWantsJSON(f *testing.F) {
	f.Add("application/json;q=0.5, text/html;q=0.4")
	f.Add("text/html;level=1;q=0.9, */*")
	f.Fuzz(func(t *testing.T, accept string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		_ = wantsJSON(r)
		r.Header.Set("Accept-Encoding", accept)
		_ = acceptsGzip(r)
	})
}

// FuzzOAuthDescription: whatever a translation holds, an OAuth
// error_description keeps to the characters RFC 6749 §5.2 allows.
func FuzzOAuthDescription(f *testing.F) {
	f.Add("What you sent is too large. The limit is 1 MB.")
	f.Add("Không tìm thấy trang — “quoted” \\ \"x\"")
	f.Add("\x00\xff\n\t")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []byte(oauthDescription(s)) {
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				t.Fatalf("%q gives %q", s, oauthDescription(s))
			}
		}
	})
}
