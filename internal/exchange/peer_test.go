package exchange_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"civitas/internal/exchange"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// twoProvinces are two installations, each with its own database and CA,
// peers of each other over mutual TLS on loopback.
func twoProvinces(t testing.TB) (a, b *env) {
	t.Helper()
	a, b = newEnvWith(t, 300, 7, ""), newEnvWith(t, 300, 11, "098") // two different provinces
	a.servePeers()
	b.servePeers()
	pa, err := a.exchangeAt().AddPeer(a.ctx, "bprov", b.srv.URL, b.rootPEM())
	if err != nil || pa.Endpoint == "" {
		t.Fatalf("a adds b: %+v %v", pa, err)
	}
	if _, err := b.exchangeAt().AddPeer(b.ctx, "aprov", a.srv.URL, a.rootPEM()); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestTwoProvinces: a consumer of one province asks a service of the other
// as CODE@PEER; the providing province grants it as PEER:CLIENT_ID, seals
// the receipt, and both keep the message.
func TestTwoProvinces(t *testing.T) {
	a, b := twoProvinces(t)
	var card string
	if err := b.d.QueryRow(b.ctx, "SELECT citizen_id FROM insurance_cards LIMIT 1").Scan(&card); err != nil {
		t.Fatal(err)
	}
	tok := a.client("hcc-sys", a.agency(registry.ServiceCentre, true).Code)
	q := body("insurance.card@bprov", card, "health_care", "KCB-1")
	if r := a.query(tok, q); r.status != 403 {
		t.Fatalf("before the grant: %d %s", r.status, r.body)
	}
	b.grant("aprov:hcc-sys", "insurance.card", "card_number", "valid_to")
	r := a.query(tok, q)
	if r.status != 200 || !strings.Contains(string(r.data), `"valid_to"`) || strings.Contains(string(r.data), "hospital") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	root, _ := b.ca.CA("root")
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	c, _, err := exchange.VerifyReceipt(r.receipt, roots)
	if err != nil || c.Consumer != "aprov:hcc-sys" || c.DataSHA256 != exchange.DataDigest(r.data) || c.Service != "insurance.card" {
		t.Fatalf("%+v %v", c, err)
	}
	// The provider's log: a read by the peer's consumer, in the person's page.
	uses := b.uses(card)
	if len(uses) != 1 || uses[0].Peer != "aprov" || uses[0].Consumer != "aprov:hcc-sys" || uses[0].Receipt != r.receipt {
		t.Fatalf("b's log: %+v", uses)
	}
	// The consumer's log: the message sent, with the same receipt.
	var n int
	var receipt string
	if err := a.d.QueryRow(a.ctx, "SELECT COUNT(*), MAX(receipt) FROM exchange_log WHERE kind = 'sent' AND service = 'insurance.card@bprov'").Scan(&n, &receipt); err != nil || n != 1 ||
		!strings.HasPrefix(receipt, "~") || receipt[65:] != r.receipt[strings.IndexByte(r.receipt, '.'):] {
		t.Fatalf("a's log: %d %v %.100s", n, err, receipt)
	}
	for _, d := range []*env{a, b} {
		if rep, err := exchange.VerifyLog(d.ctx, d.d, nil); err != nil || !rep.OK() {
			t.Fatalf("%+v %v", rep, err)
		}
	}
	// Refusals come back as such.
	unknown := registry.FormatCitizenID("098", registry.Female, 1991, 999_998)
	if r := a.query(tok, body("insurance.card@bprov", unknown, "health_care", "KCB-2")); r.status != 404 {
		t.Fatalf("an unknown person there: %d %s", r.status, r.body)
	}
	if r := a.query(tok, body("population.person@bprov", card, "health_care", "KCB-3")); r.status != 403 {
		t.Fatalf("an ungranted service there: %d %s", r.status, r.body)
	}
	if r := a.query(tok, body("insurance.card@bprov", card, "", "KCB-3")); r.status != 400 {
		t.Fatalf("no purpose: %d %s", r.status, r.body)
	}
	// The provider removes the peer: its next call is refused, on the warm
	// connection too.
	if err := b.exchangeAt().RemovePeer(b.ctx, "aprov"); err != nil {
		t.Fatal(err)
	}
	if r := a.query(tok, q); r.status == 200 {
		t.Fatalf("after the peer was removed: %d %s", r.status, r.body)
	}
	if n := len(b.uses(card)); n != 1 {
		t.Fatalf("%d reads after the removal", n)
	}
}

// TestStrangerAtThePeerListener: a client certificate of a province that
// is not a peer is refused at the handshake; none at all too.
func TestStrangerAtThePeerListener(t *testing.T) {
	a, b := twoProvinces(t)
	c := newEnvWith(t, 300, 13, "097")
	stranger, err := c.x.PeerCertificateForTest(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, certs := range map[string][]tls.Certificate{"a stranger's certificate": {stranger}, "no certificate": nil} {
		t.Run("fail/"+name, func(t *testing.T) {
			cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: certs}}}
			resp, err := cl.Post("https://"+b.peers.Addr().String()+"/peer/v1/exchange/query", "application/json",
				strings.NewReader(body("population.person", "099034091772", "tax", "x")))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("answered %d", resp.StatusCode)
			}
		})
	}
	// A's own certificate is welcome.
	own, err := a.x.PeerCertificateForTest(a.ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{own}}}}
	resp, err := cl.Post("https://"+b.peers.Addr().String()+"/peer/v1/exchange/query", "application/json", strings.NewReader(`{`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("a peer's bad JSON: %d", resp.StatusCode)
	}
}

// TestPeerChecks: names, URLs and roots a peer is added with.
func TestPeerChecks(t *testing.T) {
	e := newEnv(t)
	x := e.exchangeAt()
	root := e.rootPEM()
	leaf, err := e.x.PeerCertificateForTest(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := []byte("-----BEGIN CERTIFICATE-----\n" + b64lines(leaf.Certificate[0]) + "-----END CERTIFICATE-----\n")
	for _, tc := range []struct {
		name, peer, url string
		root            []byte
		code            kernel.Code
	}{
		{"ok/https", "tinh-b", "https://civitas.example.vn", root, ""},
		{"ok/loopback http", "tinh-c", "http://127.0.0.1:9", root, ""},
		{"fail/plain http elsewhere", "tinh-d", "http://civitas.example.vn", root, kernel.Invalid},
		{"fail/a path", "tinh-d", "https://civitas.example.vn/x", root, kernel.Invalid},
		{"fail/desk", "desk", "https://civitas.example.vn", root, kernel.Invalid},
		{"fail/upper case", "TinhB", "https://civitas.example.vn", root, kernel.Invalid},
		{"fail/not a root", "tinh-d", "https://civitas.example.vn", leafPEM, kernel.Invalid},
		{"fail/no PEM", "tinh-d", "https://civitas.example.vn", []byte("hello"), kernel.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := x.AddPeer(e.ctx, tc.peer, tc.url, tc.root); kernel.ErrorCode(err) != tc.code {
				t.Fatalf("%v", err)
			}
		})
	}
	ps, err := x.Peers(e.ctx)
	if err != nil || len(ps) != 2 || ps[1].Endpoint != "" {
		t.Fatalf("%+v %v", ps, err)
	}
}

func b64lines(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var out strings.Builder
	for len(s) > 64 {
		out.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	return out.String() + s + "\n"
}
