package exchange

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Peer is another civitas installation this one exchanges with.
type Peer struct {
	Name string // as this province calls it: the PEER of CODE@PEER and PEER:CLIENT
	URL  string // its public URL
	// Endpoint is its peer listener, discovered from URL; "" until found.
	Endpoint    string
	Root        *x509.Certificate // the root its certificates chain to
	Fingerprint string            // SHA-256 of the root, hex
	AddedAt     time.Time
}

// DiscoveryPath is where an installation says where its peer listener is.
const DiscoveryPath = "/.well-known/civitas-exchange"

// Discovery is the document at DiscoveryPath.
type Discovery struct {
	PeerEndpoint string `json:"peer_endpoint,omitempty"` // https://HOST:PORT, "" without a peer listener
	API          string `json:"api"`
	OpenAPI      string `json:"openapi"`
	Purposes     string `json:"purposes"`
}

// checkPeerURL accepts an https URL, or an http one on a loopback address
// (local trials), without path beyond "/", query or credentials.
func checkPeerURL(raw string) (string, error) {
	bad := kernel.E(kernel.Invalid, "exchange.error.bad_peer_url")
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", bad
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return "", kernel.E(kernel.Invalid, "exchange.error.http_peer")
		}
	default:
		return "", bad
	}
	return u.Scheme + "://" + u.Host, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseRoot reads the first certificate of a PEM file: a self-signed CA.
func parseRoot(pemBytes []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, pemBytes = pem.Decode(pemBytes)
		if b == nil {
			return nil, kernel.E(kernel.Invalid, "exchange.error.bad_root")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || !c.IsCA || !isSelfSigned(c) {
			return nil, kernel.E(kernel.Invalid, "exchange.error.bad_root")
		}
		return c, nil
	}
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// AddPeer registers (or replaces) a peer: its name, its public URL and the
// root its certificates chain to, and discovers its peer endpoint now if
// it answers (else at the first query). The document exchange uses the same
// peers. Operators only; audited.
func (s *Service) AddPeer(ctx context.Context, name, rawURL string, rootPEM []byte) (Peer, error) {
	if err := operatorOnly(ctx); err != nil {
		return Peer{}, err
	}
	name = strings.TrimSpace(name)
	if !peerNameRE.MatchString(name) || name+":" == DeskPrefix {
		return Peer{}, kernel.E(kernel.Invalid, "exchange.error.bad_peer_name")
	}
	u, err := checkPeerURL(rawURL)
	if err != nil {
		return Peer{}, err
	}
	root, err := parseRoot(rootPEM)
	if err != nil {
		return Peer{}, err
	}
	p := Peer{Name: name, URL: u, Root: root, Fingerprint: fingerprint(root)}
	if d, err := discover(ctx, u); err == nil {
		p.Endpoint = d
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		p.AddedAt = tx.Now
		if _, err := tx.Exec(ctx, `INSERT INTO exchange_peers (name, url, endpoint, root, fingerprint, added_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET url = excluded.url, endpoint = excluded.endpoint, root = excluded.root,
			fingerprint = excluded.fingerprint, added_at = excluded.added_at`,
			p.Name, p.URL, p.Endpoint, base64.StdEncoding.EncodeToString(root.Raw), p.Fingerprint, kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "exchange: add peer")
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "exchange.peer.add", SubjectType: "exchange_peer", SubjectID: p.Name,
			Details: map[string]any{"url": p.URL, "endpoint": p.Endpoint, "root_sha256": p.Fingerprint}})
		return err
	})
	if err != nil {
		return Peer{}, err
	}
	return p, nil
}

// RemovePeer forgets a peer: its calls are refused and its services
// unreachable at once.
func (s *Service) RemovePeer(ctx context.Context, name string) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM exchange_peers WHERE name = ?", name)
		if err != nil {
			return kernel.Wrap(err, "exchange: remove peer")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kernel.E(kernel.NotFound, "exchange.error.no_such_peer")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "exchange.peer.remove", SubjectType: "exchange_peer", SubjectID: name})
		return err
	})
}

const peerColumns = "name, url, endpoint, root, fingerprint, added_at"

func scanPeer(sc interface{ Scan(...any) error }) (Peer, error) {
	var p Peer
	var root string
	var at int64
	if err := sc.Scan(&p.Name, &p.URL, &p.Endpoint, &root, &p.Fingerprint, &at); err != nil {
		return Peer{}, err
	}
	der, err := base64.StdEncoding.DecodeString(root)
	if err != nil {
		return Peer{}, err
	}
	if p.Root, err = x509.ParseCertificate(der); err != nil {
		return Peer{}, err
	}
	p.AddedAt = kernel.FromMicros(at)
	return p, nil
}

// Peers lists the peers by name. They are read from the database each
// time: a peer added or removed from the command line counts at once.
func (s *Service) Peers(ctx context.Context) ([]Peer, error) {
	rows, err := s.o.DB.Query(ctx, "SELECT "+peerColumns+" FROM exchange_peers ORDER BY name")
	if err != nil {
		return nil, kernel.Wrap(err, "exchange: peers")
	}
	defer rows.Close()
	var out []Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "exchange: peers")
		}
		out = append(out, p)
	}
	return out, kernel.Wrap(rows.Err(), "exchange: peers")
}

// Peer returns one peer; an unknown name is Invalid (a mistake in the
// query, not a subject unknown).
func (s *Service) Peer(ctx context.Context, name string) (Peer, error) {
	p, err := scanPeer(s.o.DB.QueryRow(ctx, "SELECT "+peerColumns+" FROM exchange_peers WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return Peer{}, kernel.E(kernel.Invalid, "exchange.error.unknown_peer", name)
	}
	if err != nil {
		return Peer{}, kernel.Wrap(err, "exchange: peer")
	}
	return p, nil
}

// discover reads a peer's discovery document and returns its peer endpoint.
func discover(ctx context.Context, base string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+DiscoveryPath, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("exchange: discovery: %s", resp.Status)
	}
	var d Discovery
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&d); err != nil {
		return "", fmt.Errorf("exchange: discovery: %w", err)
	}
	u, err := url.Parse(d.PeerEndpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", errors.New("exchange: discovery names no https peer endpoint")
	}
	return "https://" + u.Host, nil
}

// peerEndpoint is a peer's endpoint, discovered now when the peer was added
// before it answered.
func (s *Service) peerEndpoint(ctx context.Context, p Peer) (string, error) {
	if p.Endpoint != "" {
		return p.Endpoint, nil
	}
	ep, err := discover(ctx, p.URL)
	if err != nil {
		return "", kernel.E(kernel.Unavailable, "exchange.error.peer_unavailable", p.Name).WithCause(err)
	}
	// Remember it for the other instances and later starts.
	if err := s.o.DB.WriteRow(ctx, "UPDATE exchange_peers SET endpoint = ? WHERE name = ? AND fingerprint = ? RETURNING name",
		ep, p.Name, p.Fingerprint).Scan(new(string)); err != nil && !errors.Is(err, sql.ErrNoRows) {
		s.o.Logger.Warn("exchange: could not store a peer's endpoint", slog.String("peer", p.Name), slog.Any("error", err))
	}
	return ep, nil
}

// Discovery returns this installation's discovery document.
func (s *Service) Discovery() Discovery {
	d := Discovery{API: s.o.PublicURL + "/api/exchange/v1", OpenAPI: s.o.PublicURL + "/api/exchange/v1/openapi.json",
		Purposes: s.o.PublicURL + "/api/exchange/v1/purposes"}
	if s.o.PeerAddr != "" {
		d.PeerEndpoint = "https://" + net.JoinHostPort(s.peerHosts()[0], portOf(s.o.PeerAddr))
	}
	return d
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

// peerHosts are the names the peer certificate carries: the listener's
// host when it is one, then the public URL's.
func (s *Service) peerHosts() []string {
	var hosts []string
	if h, _, err := net.SplitHostPort(s.o.PeerAddr); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	if u, err := url.Parse(s.o.PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	if len(hosts) == 0 {
		hosts = append(hosts, "localhost")
	}
	return hosts
}

// peerCert is the certificate in use on the peer listener and in calls.
type peerCert struct {
	cert    *tls.Certificate
	renewAt time.Time
}

// certificate returns this province's peer certificate, renewed at half
// its life.
func (s *Service) certificate(ctx context.Context) (*tls.Certificate, error) {
	if s.o.PeerCerts == nil {
		return nil, kernel.E(kernel.Unavailable, "exchange.error.no_peering")
	}
	now := s.o.Clock.Now()
	s.peerMu.Lock()
	defer s.peerMu.Unlock()
	if s.peerCert != nil && now.Before(s.peerCert.renewAt) {
		return s.peerCert.cert, nil
	}
	c, err := s.o.PeerCerts.PeerCertificate(ctx, s.peerHosts())
	if err != nil {
		return nil, err
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, kernel.Wrap(err, "exchange: peer certificate")
		}
	}
	s.peerCert = &peerCert{cert: &c, renewAt: c.Leaf.NotBefore.Add(c.Leaf.NotAfter.Sub(c.Leaf.NotBefore) / 2)}
	return &c, nil
}

// verifyPeerChain checks that a presented chain leads to root for usage.
func verifyPeerChain(certs []*x509.Certificate, root *x509.Certificate, usage x509.ExtKeyUsage, now time.Time) error {
	if len(certs) == 0 {
		return errors.New("exchange: no certificate presented")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// peerOf finds the peer whose root a client's chain leads to. Peers are
// read afresh (a removed peer is refused at once); chains verified before
// against the same root are not verified again.
func (s *Service) peerOf(ctx context.Context, certs []*x509.Certificate) (Peer, error) {
	if len(certs) == 0 {
		return Peer{}, kernel.E(kernel.Unauthenticated, "exchange.error.not_a_peer")
	}
	peers, err := s.Peers(ctx)
	if err != nil {
		return Peer{}, err
	}
	leaf := fingerprint(certs[0])
	now := s.o.Clock.Now()
	for _, p := range peers {
		key := leaf + "/" + p.Fingerprint
		if until, ok := s.peerIDs.Load(key); ok && now.Before(until.(time.Time)) {
			return p, nil
		}
		if verifyPeerChain(certs, p.Root, x509.ExtKeyUsageClientAuth, now) == nil {
			s.peerIDs.Store(key, certs[0].NotAfter)
			return p, nil
		}
	}
	return Peer{}, kernel.E(kernel.Unauthenticated, "exchange.error.not_a_peer")
}

// peerClient is the HTTP client of one peer: mutual TLS, the peer's
// server certificate checked against its root, connections kept warm.
type peerClient struct {
	fingerprint, endpoint string
	http                  *http.Client
}

// PeerClient returns an HTTP client for a peer's endpoint and the
// endpoint: what the document exchange posts its envelopes with.
func (s *Service) PeerClient(ctx context.Context, name string) (*http.Client, string, error) {
	p, err := s.Peer(ctx, name)
	if err != nil {
		return nil, "", err
	}
	ep, err := s.peerEndpoint(ctx, p)
	if err != nil {
		return nil, "", err
	}
	s.peerMu.Lock()
	defer s.peerMu.Unlock()
	if c, ok := s.peerClients[name]; ok && c.fingerprint == p.Fingerprint && c.endpoint == ep {
		return c.http, ep, nil
	}
	root := p.Root
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The peer is known by its root, pinned when it was added, not by a
		// host name: VerifyConnection checks the chain to that root.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPeerChain(cs.PeerCertificates, root, x509.ExtKeyUsageServerAuth, s.o.Clock.Now())
		},
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return s.certificate(cri.Context())
		},
	}
	tr := &http.Transport{TLSClientConfig: tlsConf, MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 15 * time.Second, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	if old, ok := s.peerClients[name]; ok {
		old.http.CloseIdleConnections()
	}
	c := &peerClient{fingerprint: p.Fingerprint, endpoint: ep, http: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
	s.peerClients[name] = c
	return c.http, ep, nil
}

// peerRequest is a query as one province sends it to another.
type peerRequest struct {
	Service    string            `json:"service"`
	Subject    map[string]string `json:"subject"`
	Purpose    string            `json:"purpose"`
	CaseRef    string            `json:"case_ref"`
	Consumer   string            `json:"consumer"`    // as the asking province names it: a client ID or desk:AGENCY
	AgencyName string            `json:"agency_name"` // the consumer's agency, for the person's page
}

// queryPeer asks a peer province's service for a local consumer, checks
// the receipt against the peer's root and what was asked, and logs the
// query sent.
func (s *Service) queryPeer(ctx context.Context, peerName, code string, req Request) (Answer, error) {
	if !codeRE.MatchString(code) {
		return Answer{}, kernel.E(kernel.Invalid, "exchange.error.unknown_service")
	}
	purpose, err := checkPurpose(req.Purpose)
	if err != nil {
		return Answer{}, err
	}
	caseRef, err := checkCaseRef(req.CaseRef)
	if err != nil {
		return Answer{}, err
	}
	ref := req.Subject
	if ref.ID == "" || len(ref.ID) > MaxSubjectID || ref.Kind != SubjectPerson && ref.Kind != SubjectOrganisation {
		return Answer{}, kernel.E(kernel.Invalid, "exchange.error.bad_subject")
	}
	c := req.Consumer
	if c.Name == "" || c.Peer != "" {
		// A peer's consumer asks this province's services only: no relaying.
		return Answer{}, kernel.E(kernel.Forbidden, "exchange.error.no_grant")
	}
	p, err := s.Peer(ctx, peerName)
	if err != nil {
		return Answer{}, err
	}
	client, ep, err := s.PeerClient(ctx, peerName)
	if err != nil {
		return Answer{}, err
	}
	label := c.Label
	if label == "" {
		label = s.agencyName(ctx, c.Agency)
	}
	body, err := json.Marshal(peerRequest{Service: code, Subject: map[string]string{ref.Kind: ref.ID}, Purpose: purpose.Code,
		CaseRef: caseRef, Consumer: c.Name, AgencyName: label})
	if err != nil {
		return Answer{}, kernel.Wrap(err, "exchange: encode peer query")
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, ep+"/peer/v1/exchange/query", bytes.NewReader(body))
	if err != nil {
		return Answer{}, kernel.Wrap(err, "exchange: peer query")
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json, application/problem+json")
	if rid := kernel.RequestIDFrom(ctx); rid != "" {
		hreq.Header.Set("X-Request-Id", rid)
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return Answer{}, kernel.E(kernel.Unavailable, "exchange.error.peer_unavailable", peerName).WithCause(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil || len(raw) > maxAnswer {
		return Answer{}, kernel.E(kernel.Unavailable, "exchange.error.peer_unavailable", peerName).WithCause(err)
	}
	if resp.StatusCode != http.StatusOK {
		return Answer{}, peerRefusal(peerName, resp.StatusCode, raw)
	}
	var out struct {
		Data    json.RawMessage `json:"data"`
		Receipt string          `json:"receipt"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Data) == 0 || out.Data[0] != '{' {
		return Answer{}, kernel.E(kernel.Unavailable, "exchange.error.peer_bad_answer", peerName).WithCause(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.Root)
	claims, _, err := VerifyReceipt(out.Receipt, roots)
	if err != nil {
		return Answer{}, kernel.E(kernel.Unavailable, "exchange.error.peer_bad_answer", peerName).WithCause(err)
	}
	if claims.Service != code || claims.Subject != ref.ID || claims.Purpose != purpose.Code || claims.CaseRef != caseRef ||
		claims.DataSHA256 != DataDigest(out.Data) || !strings.HasSuffix(claims.Consumer, ":"+c.Name) {
		return Answer{}, kernel.E(kernel.Unavailable, "exchange.error.peer_bad_answer", peerName).WithCause(errors.New("the receipt does not match the query"))
	}
	now := s.o.Clock.Now()
	channel := c.Channel
	if channel == "" {
		channel = ChannelExchange
	}
	actx := kernel.WithActor(ctx, c.Actor)
	err = s.o.DB.Batch(actx, now, func(tx *db.Tx) error {
		if err := audit.Queue(actx, tx, audit.Entry{Action: "exchange.query_sent", SubjectType: subjectType(ref.Kind), SubjectID: ref.ID,
			Purpose: purpose.Code, Details: map[string]any{"service": code, "peer": peerName, "consumer": c.Name, "fields": claims.Fields,
				"message": claims.ID, "case_ref": caseRef}}); err != nil {
			return err
		}
		keep(tx, Entry{Kind: KindSent, SubjectKind: ref.Kind, Subject: ref.ID, ReaderKind: string(c.Actor.Kind), ReaderID: c.Actor.ID,
			Consumer: c.Name, Agency: c.Agency, ReaderName: label, Channel: channel, Service: code + "@" + peerName, Fields: claims.Fields,
			Purpose: purpose.Code, CaseRef: caseRef, Peer: peerName, Message: claims.ID, DataSHA256: claims.DataSHA256, Receipt: out.Receipt})
		return nil
	})
	if err != nil {
		return Answer{}, err
	}
	return Answer{Data: out.Data, Receipt: out.Receipt, Service: code + "@" + peerName, Provider: claims.Provider, Peer: peerName,
		Fields: claims.Fields, At: now, ID: claims.ID}, nil
}

// maxAnswer bounds an answer read from a peer.
const maxAnswer = 4 << 20

// peerRefusal turns a peer's refusal into ours: the same kind, the peer's
// words as the detail.
func peerRefusal(peer string, status int, raw []byte) error {
	var prob struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(raw, &prob)
	detail := prob.Detail
	if !printable(detail, 300) {
		detail = ""
	}
	switch status {
	case http.StatusBadRequest:
		return kernel.E(kernel.Invalid, "exchange.error.peer_invalid", peer, detail)
	case http.StatusForbidden, http.StatusUnauthorized:
		return kernel.E(kernel.Forbidden, "exchange.error.peer_forbidden", peer, detail)
	case http.StatusNotFound:
		return kernel.E(kernel.NotFound, "exchange.error.unknown_subject")
	}
	return kernel.E(kernel.Unavailable, "exchange.error.peer_unavailable", peer).WithCause(fmt.Errorf("status %d", status))
}
