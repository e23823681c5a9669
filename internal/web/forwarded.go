package web

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many X-Forwarded-For entries are read.
const maxForwardedHops = 32

// forwarded makes r.RemoteAddr the client's address when the connection
// comes from a trusted reverse proxy: reading X-Forwarded-For from the
// right, the first address that is not itself a trusted proxy. Anything
// else — no trusted proxy configured, a peer that is not one, a malformed
// or all-trusted header — leaves the connection's address, so a client
// can never choose its own address by sending the header itself.
func (s *Server) forwarded(next http.Handler) http.Handler {
	if len(s.proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr, ok := ForwardedClient(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.proxies); ok {
			r2 := new(http.Request)
			*r2 = *r
			r2.RemoteAddr = netip.AddrPortFrom(addr, 0).String()
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// ForwardedClient finds the client behind trusted proxies: peer is the
// connection's address (HOST:PORT), xff the X-Forwarded-For header lines
// in order. It reports false when the peer is not a trusted proxy or the
// header names no untrusted address before a malformed entry.
func ForwardedClient(peer string, xff []string, trusted []netip.Prefix) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(peer)
	if err != nil || !within(ap.Addr().Unmap(), trusted) {
		return netip.Addr{}, false
	}
	seen := 0
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			if seen++; seen > maxForwardedHops {
				return netip.Addr{}, false
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil || a.Zone() != "" {
				return netip.Addr{}, false
			}
			if a = a.Unmap(); !within(a, trusted) {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}

func within(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of r's client: the connection's peer or,
// behind a trusted proxy, the forwarded client (the forwarded middleware put
// it in r.RemoteAddr). It is the zero Addr when RemoteAddr holds no address.
func ClientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
