package app

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/edoc"
	"civitas/internal/exchange"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/signing"
)

// The document exchange's adapters: the registry's agencies and the
// officials' posts, the agencies' seals and the roots that certify them
// (this installation's and its peers'), the leaders' official credentials
// through remote signing, and the exchange's peers for envelopes between
// provinces.
var (
	_ edoc.Directory = edocDirectory{}
	_ edoc.Seals     = edocSeals{}
	_ edoc.Signer    = edocSigner{}
	_ edoc.Peers     = edocPeers{}
)

// EdocDeps are what OpenEdoc builds the document exchange on.
type EdocDeps struct {
	Registry *registry.Service
	Identity *identity.Service
	CA       *pki.Service
	Exchange *exchange.Service // nil: in-province only
	Signing  *signing.Service  // nil: leaders cannot sign from the pages
	Logger   *slog.Logger
}

// OpenEdoc builds the document exchange. The installation's name in
// envelopes is the SHA-256 of its root certificate: stable, unique, and
// what its peers pinned when they added it.
func OpenEdoc(d *db.DB, clock kernel.Clock, deps EdocDeps) (*edoc.Service, error) {
	inst, err := installationOf(deps.CA)
	if err != nil {
		return nil, err
	}
	o := edoc.Options{DB: d, Clock: clock, Directory: edocDirectory{reg: deps.Registry, id: deps.Identity, staff: &feedbackStaff{reg: deps.Registry, id: deps.Identity}},
		Seals: edocSeals{ca: deps.CA, x: deps.Exchange, self: inst}, Installation: inst, Logger: deps.Logger}
	if deps.Signing != nil {
		o.Signer = edocSigner{s: deps.Signing, ca: deps.CA}
		o.PDFSeal = edocPDFSeal{ca: deps.CA, clock: clock}
	}
	if deps.Exchange != nil {
		o.Peers = edocPeers{x: deps.Exchange}
	}
	return edoc.New(o)
}

// installationOf names an installation by its root certificate.
func installationOf(ca *pki.Service) (string, error) {
	root, err := ca.CA(pki.Root)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(root.Cert.Raw)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// edocDirectory reads agencies and posts from the registry and the e-ID;
// the officials of an agency as feedback's staff adapter keeps them.
type edocDirectory struct {
	reg   *registry.Service
	id    *identity.Service
	staff *feedbackStaff
}

func (d edocDirectory) Members(ctx context.Context, agency string) ([]edoc.Member, error) {
	ms, err := d.staff.Members(ctx, agency)
	if err != nil {
		return nil, err
	}
	out := make([]edoc.Member, len(ms))
	for i, m := range ms {
		out[i] = edoc.Member{AccountID: m.AccountID, Name: m.Name, Role: m.Role}
	}
	return out, nil
}

func (d edocDirectory) Agency(ctx context.Context, code string) (edoc.Agency, error) {
	a, err := d.reg.Agency(ctx, code)
	if err != nil {
		return edoc.Agency{}, err
	}
	return edoc.Agency{Code: a.Code, Name: a.Name, Unit: a.UnitCode}, nil
}

func (d edocDirectory) Within(ctx context.Context, unit, area string) (bool, error) {
	return d.reg.Within(ctx, unit, area)
}

func (d edocDirectory) Posts(ctx context.Context, accountID string) ([]edoc.Post, error) {
	if accountID == "" {
		return nil, nil
	}
	posts, err := d.id.Posts(ctx, accountID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]edoc.Post, len(posts))
	for i, p := range posts {
		out[i] = edoc.Post{Agency: p.Agency.Code, Role: string(p.Role)}
	}
	return out, nil
}

// edocSeals signs with the agency's seal and checks a seal against the
// root of the installation that sent it: this one, or a peer's as the
// operator pinned it (civitas peer add).
type edocSeals struct {
	ca   *pki.Service
	x    *exchange.Service
	self string
}

var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

func (s edocSeals) Seal(ctx context.Context, agency string) (crypto.Signer, []*x509.Certificate, error) {
	return s.ca.Seal(ctx, agency)
}

func (s edocSeals) Check(ctx context.Context, installation string, chain []*x509.Certificate, at time.Time) (string, error) {
	var root *x509.Certificate
	if installation == s.self {
		ca, err := s.ca.CA(pki.Root)
		if err != nil {
			return "", err
		}
		root = ca.Cert
	} else if s.x != nil {
		peers, err := s.x.Peers(ctx)
		if err != nil {
			return "", err
		}
		for _, p := range peers {
			if "sha256:"+p.Fingerprint == installation {
				root = p.Root
			}
		}
	}
	if root == nil {
		return "", kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", installation)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range chain[1:] {
		if !c.Equal(root) {
			inter.AddCert(c)
		}
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return "", kernel.E(kernel.Forbidden, "edoc.error.bad_signature").WithCause(err)
	}
	if installation == s.self {
		// Our own seals are checked for revocation too.
		if st, err := s.ca.Status(ctx, pki.Officials, chain[0].SerialNumber); err == nil && st.State == pki.Revoked {
			return "", kernel.E(kernel.Forbidden, "edoc.error.bad_signature")
		}
	}
	for _, n := range chain[0].Subject.Names {
		if v, ok := n.Value.(string); ok && n.Type.Equal(oidOrganizationIdentifier) {
			if code, ok := strings.CutPrefix(v, "VN:GOV-"); ok {
				return code, nil
			}
		}
	}
	return "", kernel.E(kernel.Forbidden, "edoc.error.bad_signature")
}

// edocSigner has the leader sign through remote signing with the official
// credential held in the agency, one approval for the batch.
type edocSigner struct {
	s  *signing.Service
	ca *pki.Service
}

// edocClient names the document exchange as the application asking for signatures.
const edocClient = "civitas.edoc"

func (e edocSigner) SignPDFs(ctx context.Context, accountID, agency, code string, docs []edoc.File) ([][]byte, error) {
	creds, err := e.s.Credentials(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var cred signing.Credential
	for _, c := range creds {
		if c.Status == signing.CredentialActive && c.Capacity.AgencyCode == agency {
			cred = c
			break
		}
	}
	if cred.ID == "" {
		return nil, kernel.E(kernel.Forbidden, "portal.error.no_official_credential")
	}
	pdfs := make([]signing.PDFDocument, len(docs))
	refs := make([]signing.DocumentRef, len(docs))
	for i, d := range docs {
		pdfs[i] = signing.PDFDocument{Name: d.Name, Data: d.Data}
	}
	req, err := e.s.SubmitPDFs(ctx, signing.PDFSubmission{AccountID: accountID, CredentialID: cred.ID, Client: edocClient,
		Description: "Ký văn bản đi / Sign outgoing documents", Documents: pdfs})
	if err != nil {
		return nil, err
	}
	if err := e.s.ApproveAndSign(ctx, accountID, req.ID, code); err != nil {
		return nil, err
	}
	sad, _, err := e.s.HandOff(ctx, edocClient, accountID, req.ID)
	if err != nil {
		return nil, err
	}
	if sad == "" {
		return nil, kernel.E(kernel.Conflict, "signing.error.not_pending")
	}
	for i := range docs {
		refs[i] = signing.DocumentRef{ID: signing.DocumentID(req.ID, i)}
	}
	return e.s.SignDocuments(ctx, signing.DocumentSigning{Client: edocClient, AccountID: accountID, CredentialID: cred.ID, SAD: sad, Documents: refs})
}

// edocPeers carries envelopes to other provinces over the exchange's
// peer connections (mutual TLS, each peer pinned by its root).
type edocPeers struct{ x *exchange.Service }

func (p edocPeers) Installation(ctx context.Context, peer string) (string, error) {
	pe, err := p.x.Peer(ctx, peer)
	if err != nil {
		return "", err
	}
	return "sha256:" + pe.Fingerprint, nil
}

func (p edocPeers) PeerOf(ctx context.Context, installation string) (string, error) {
	peers, err := p.x.Peers(ctx)
	if err != nil {
		return "", err
	}
	for _, pe := range peers {
		if "sha256:"+pe.Fingerprint == installation {
			return pe.Name, nil
		}
	}
	return "", kernel.E(kernel.NotFound, "edoc.error.unknown_peer", installation)
}

func (p edocPeers) Deliver(ctx context.Context, peer string, envelope []byte) error {
	return p.post(ctx, peer, edoc.PeerEnvelopePath, "application/xml", envelope)
}

func (p edocPeers) DeliverStatus(ctx context.Context, peer string, message []byte) error {
	return p.post(ctx, peer, edoc.PeerStatusPath, "application/json", message)
}

func (p edocPeers) post(ctx context.Context, peer, path, ctype string, body []byte) error {
	c, ep, err := p.x.PeerClient(ctx, peer)
	if err != nil {
		return kernel.E(kernel.Unavailable, "edoc.error.unknown_peer", peer).WithCause(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep+path, bytes.NewReader(body))
	if err != nil {
		return kernel.Wrap(err, "app: edoc request")
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.Do(req)
	if err != nil {
		return kernel.E(kernel.Unavailable, "edoc.error.unknown_peer", peer).WithCause(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusConflict:
		// Refused for good: a retry would be refused again.
		return kernel.E(kernel.Invalid, "edoc.error.bad_envelope")
	}
	return kernel.E(kernel.Unavailable, "edoc.error.unknown_peer", peer)
}

// openEdoc builds the document exchange, answers its peer paths on the
// exchange's peer listener and mounts its pages.
func (a *App) openEdoc() error {
	var err error
	a.edoc, err = OpenEdoc(a.db, a.clock, EdocDeps{Registry: a.registry, Identity: a.identity, CA: a.pki, Exchange: a.exchange,
		Signing: a.signing, Logger: a.log})
	if err != nil {
		return err
	}
	envelopes, status := a.edoc.PeerHandlers(exchange.PeerFrom)
	a.exchange.HandlePeer("POST "+edoc.PeerEnvelopePath, envelopes)
	a.exchange.HandlePeer("POST "+edoc.PeerStatusPath, status)
	if a.cfg.Demo {
		if err := SeedEdocDemo(context.Background(), a.edoc, a.registry, a.clock); err != nil {
			return err
		}
	}
	return a.edoc.Mount(a.web)
}

// SeedEdocDemo gives a demo province's registers something to show, once:
// the province's committee sends three districts' committees a plan and a
// notice (one answer already overdue), delivered at once, so the
// districts' clerks find them waiting and the supervision page has figures.
func SeedEdocDemo(ctx context.Context, s *edoc.Service, reg *registry.Service, clock kernel.Clock) error {
	if empty, err := s.Empty(ctx); err != nil || !empty {
		return err
	}
	ctx = kernel.WithActor(ctx, kernel.System("demo"))
	as, err := reg.ListAgencies(ctx, kernel.Page{Limit: kernel.MaxPageLimit})
	if err != nil {
		return err
	}
	var province string
	var districts []string
	for _, a := range as {
		if a.Kind != registry.PeopleCommittee {
			continue
		}
		switch a.Level {
		case registry.Province:
			province = a.Code
		case registry.District:
			districts = append(districts, a.Code)
		}
	}
	if province == "" || len(districts) == 0 {
		return nil
	}
	if len(districts) > 3 {
		districts = districts[:3] // enough to show; every demo start pays for them
	}
	now := clock.Now()
	for i, d := range districts {
		for j, doc := range []struct {
			t       edoc.DocType
			subject string
			due     time.Time
		}{
			{"KH", "Kế hoạch chuyển đổi số năm 2027", now.Add(10 * 24 * time.Hour)},
			{"CV", "Về việc báo cáo tình hình sử dụng chữ ký số", now.Add(time.Duration(i%2*2-1) * 24 * time.Hour)},
		} {
			_, _, err := s.Import(ctx, edoc.Import{From: province, To: []edoc.Recipient{{Agency: d}}, Type: doc.t, Subject: doc.subject,
				Due: doc.due, Main: edoc.File{Name: fmt.Sprintf("demo-%d-%d.pdf", i, j), Data: demoPDF(doc.subject)}})
			if err != nil {
				return err
			}
		}
	}
	_, err = s.DeliverDue(ctx, "demo", 1000)
	return err
}

// demoPDF is a one-page PDF naming its subject in a comment.
func demoPDF(subject string) []byte {
	var b bytes.Buffer
	var offs []int
	b.WriteString("%PDF-1.4\n")
	for _, body := range []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>", "<< /Length 0 >>\nstream\n\nendstream"} {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n%% %x\n", len(offs)+1, xref, sha256.Sum256([]byte(subject)))
	return b.Bytes()
}

// edocJobs deliver the outbox: envelopes sent from the pages or the
// command line (which tries once itself) reach their recipients within
// seconds.
func (a *App) edocJobs() []Job {
	holder := newHolderID()
	return []Job{{Name: "edoc.delivery", Every: 2 * time.Second, Run: func(ctx context.Context) error {
		for {
			n, err := a.edoc.DeliverDue(ctx, holder, 200)
			if err != nil || n < 200 {
				return err
			}
		}
	}}}
}

// OpenEdocCommand opens what an operator's edoc command needs: the
// database, the trust services (made now if this is their first start),
// the registry and the e-ID for the directory, and the exchange's peers.
// The returned function closes them.
func OpenEdocCommand(ctx context.Context, cfg config.Config, log *slog.Logger) (*edoc.Service, func(), error) {
	d, err := db.Open(ctx, db.Options{DSN: cfg.DB, DataDir: cfg.DataDir})
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error, closers ...func()) (*edoc.Service, func(), error) {
		for _, c := range closers {
			c()
		}
		d.Close()
		return nil, nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		return fail(err)
	}
	box, err := OpenBox(cfg, log)
	if err != nil {
		return fail(err)
	}
	clock := kernel.SystemClock{}
	keys, closeKeys, err := OpenKeys(cfg, d, clock, box)
	if err != nil {
		return fail(err)
	}
	ca, err := OpenPKI(ctx, d, clock, box, keys, cfg, log)
	if err != nil {
		return fail(err, closeKeys)
	}
	if !ca.Ready() {
		if _, err := ca.Init(ctx); err != nil {
			return fail(err, closeKeys)
		}
	}
	reg := registry.New(d, clock)
	id, err := identity.New(identity.Options{DB: d, Clock: clock, Registry: reg, Box: box, SMS: CommandSMS(log), Logger: log})
	if err != nil {
		return fail(err, closeKeys)
	}
	x, err := OpenExchange(d, clock, reg, ca, cfg)
	if err != nil {
		return fail(err, closeKeys)
	}
	s, err := OpenEdoc(d, clock, EdocDeps{Registry: reg, Identity: id, CA: ca, Exchange: x, Logger: log})
	if err != nil {
		return fail(err, closeKeys)
	}
	return s, func() { closeKeys(); d.Close() }, nil
}

// edocPDFSeal seals a registered document with the agency's seal at B-T,
// over the leader's signature.
type edocPDFSeal struct {
	ca    *pki.Service
	clock kernel.Clock
}

var _ edoc.PDFSeal = edocPDFSeal{}

func (s edocPDFSeal) SealPDF(ctx context.Context, agency string, in []byte) ([]byte, error) {
	signer, chain, err := s.ca.Seal(ctx, agency)
	if err != nil {
		return nil, err
	}
	if err := s.ca.StartOnline(ctx); err != nil {
		return nil, err
	}
	tsaChain, err := s.ca.TSAChain()
	if err != nil {
		return nil, err
	}
	o := pades.Options{Level: pades.LevelBT, Certificate: chain[0], Chain: chain[1:], Stamper: s.ca.Stamper(), TSAChain: tsaChain,
		PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, Reason: "Đóng dấu văn bản đi / Seal of an outgoing document", SignTime: s.clock.Now()}}
	out := &sealedPDFBuffer{b: make([]byte, 0, len(in)+48<<10)}
	n, err := pades.Sign(ctx, out, bytes.NewReader(in), int64(len(in)), signer, o)
	if err != nil {
		return nil, err
	}
	return out.b[:n], nil
}
