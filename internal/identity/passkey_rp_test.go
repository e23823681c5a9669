package identity

import (
	"log/slog"
	"testing"
)

// TestRelyingParty: the RP ID is the public URL's host and the only origin
// is the public URL's; browsers refuse an IP address as RP ID, so none is
// made for one and passkeys stay off.
func TestRelyingParty(t *testing.T) {
	for _, tc := range []struct {
		name, url, id, origin string
	}{
		{"ok/https-with-port-and-path", "https://EID.example.vn:8443/civitas/", "eid.example.vn", "https://eid.example.vn:8443"},
		{"ok/localhost", "http://localhost:8080", "localhost", "http://localhost:8080"},
		{"fail/ipv4", "http://127.0.0.1:8080", "", ""},
		{"fail/ipv6", "http://[::1]:8080", "", ""},
		{"fail/no-host", "http:///x", "", ""},
		{"fail/not-http", "ftp://eid.example.vn", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp, err := newRelyingParty(tc.url, "civitas")
			if tc.id == "" {
				if err == nil {
					t.Fatalf("relying party made for %s: %+v", tc.url, rp)
				}
				return
			}
			if err != nil || rp.id != tc.id || rp.origin != tc.origin || rp.wa.Config.RPID != tc.id ||
				len(rp.wa.Config.RPOrigins) != 1 || rp.wa.Config.RPOrigins[0] != tc.origin {
				t.Fatalf("%s: %+v %v", tc.url, rp, err)
			}
		})
	}
	s := &Service{issuer: "civitas", log: slog.New(slog.DiscardHandler)}
	if s.usePasskeysAt("http://127.0.0.1:8080"); s.PasskeysAvailable() {
		t.Fatal("passkeys on for an IP address")
	}
	if s.usePasskeysAt("http://localhost:8080"); !s.PasskeysAvailable() {
		t.Fatal("passkeys off for localhost")
	}
}
