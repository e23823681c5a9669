package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

var testProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}

func TestForwardedClient(t *testing.T) {
	tests := []struct {
		name, peer string
		xff        []string
		want       string // "" = keep the connection's address
	}{
		{name: "ok/one proxy", peer: "10.0.0.2:5000", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "ok/two proxies, the client's own header ignored", peer: "10.0.0.2:5000", xff: []string{"1.2.3.4, 203.0.113.9, 10.0.0.7"}, want: "203.0.113.9"},
		{name: "ok/several header lines read as one list", peer: "10.0.0.2:5000", xff: []string{"1.2.3.4", "203.0.113.9", "10.1.1.1"}, want: "203.0.113.9"},
		{name: "ok/IPv6 client and proxy", peer: "[fd00::1]:443", xff: []string{"2001:db8::5"}, want: "2001:db8::5"},
		{name: "ok/an IPv4-mapped client", peer: "10.0.0.2:5000", xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "fail/not from a trusted proxy: the header is the client's own claim", peer: "203.0.113.50:5000", xff: []string{"198.51.100.1"}},
		{name: "fail/no header", peer: "10.0.0.2:5000"},
		{name: "fail/only proxies in the header", peer: "10.0.0.2:5000", xff: []string{"10.0.0.3, 10.0.0.4"}},
		{name: "fail/a malformed entry before any client", peer: "10.0.0.2:5000", xff: []string{"203.0.113.9, unknown"}},
		{name: "fail/an address with a port", peer: "10.0.0.2:5000", xff: []string{"203.0.113.9:80"}},
		{name: "fail/a zone", peer: "10.0.0.2:5000", xff: []string{"fe80::1%eth0"}},
		{name: "fail/too many hops", peer: "10.0.0.2:5000", xff: []string{"203.0.113.9," + strings.Repeat("10.0.0.1,", 40) + "10.0.0.1"}},
		{name: "fail/a peer that is not HOST:PORT", peer: "pipe", xff: []string{"203.0.113.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ForwardedClient(tt.peer, tt.xff, testProxies)
			if tt.want == "" {
				if ok {
					t.Fatalf("took %s from the header", got)
				}
				return
			}
			if !ok || got.String() != tt.want {
				t.Fatalf("got %s %v, want %s", got, ok, tt.want)
			}
		})
	}
}

// Through the server: a handler sees the client behind the trusted proxy
// as r.RemoteAddr, and the connection's address otherwise; with no
// trusted proxies configured the header changes nothing.
func TestForwardedMiddleware(t *testing.T) {
	seen := ""
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr })
	for _, tt := range []struct {
		name    string
		proxies []netip.Prefix
		peer    string
		want    string
	}{
		{"ok/behind a trusted proxy", testProxies, "10.9.9.9:1234", "203.0.113.9:0"},
		{"fail/a stranger sends the header", testProxies, "198.51.100.4:1234", "198.51.100.4:1234"},
		{"fail/no trusted proxies configured", nil, "10.9.9.9:1234", "10.9.9.9:1234"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{proxies: tt.proxies}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.peer
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			s.forwarded(h).ServeHTTP(httptest.NewRecorder(), req)
			if seen != tt.want {
				t.Fatalf("handler saw %s, want %s", seen, tt.want)
			}
		})
	}
}

// FuzzForwardedClient: any header gives either no address or one that is
// written in it and is not a trusted proxy.
func FuzzForwardedClient(f *testing.F) {
	f.Add("10.0.0.2:5000", "203.0.113.9, 10.0.0.7", "")
	f.Add("[fd00::1]:443", "2001:db8::5", "1.2.3.4")
	f.Add("1.2.3.4:1", ",,,", "::ffff:10.0.0.1")
	f.Fuzz(func(t *testing.T, peer, line1, line2 string) {
		got, ok := ForwardedClient(peer, []string{line1, line2}, testProxies)
		if !ok {
			return
		}
		if within(got, testProxies) || !got.IsValid() {
			t.Fatalf("%s from %q %q", got, line1, line2)
		}
		found := false
		for _, line := range []string{line1, line2} {
			for f := range strings.SplitSeq(line, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(f)); err == nil && a.Unmap() == got {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("%s is not in %q %q", got, line1, line2)
		}
	})
}
