package edoc

import (
	"context"
	"crypto"
	"crypto/x509"
	"log/slog"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Agency is an agency as the directory knows it.
type Agency struct {
	Code string
	Name string
	Unit string // the unit it is seated in
}

// Post is an official's role in an agency (the registry's role names).
type Post struct {
	Agency string
	Role   string
}

// Directory is the registry of agencies and the officials' posts.
type Directory interface {
	Agency(ctx context.Context, code string) (Agency, error)
	Posts(ctx context.Context, accountID string) ([]Post, error)
	// Within reports whether unit lies inside area (or is area).
	Within(ctx context.Context, unit, area string) (bool, error)
	// Members lists the officials of an agency who have accounts.
	Members(ctx context.Context, agency string) ([]Member, error)
}

// Member is an official of an agency with an account.
type Member struct {
	AccountID string
	Name      string
	Role      string
}

// Members lists the agency's officials who hold a capacity, for the
// pages' choices (the signer, the handler).
func (s *Service) Members(ctx context.Context, agency string, cap Capacity) ([]Member, error) {
	ms, err := s.o.Directory.Members(ctx, agency)
	if err != nil {
		return nil, err
	}
	out := ms[:0:0]
	for _, m := range ms {
		if capacityOf(m.Role)&cap != 0 {
			out = append(out, m)
		}
	}
	return out, nil
}

// Seals signs envelopes with an agency's seal and checks the seals of
// envelopes received.
type Seals interface {
	// Seal returns the agency's seal key and its chain, seal first.
	Seal(ctx context.Context, agency string) (crypto.Signer, []*x509.Certificate, error)
	// Check checks that chain (seal first) is an agency seal of the
	// installation named (this one or a configured peer), valid at at,
	// and returns the agency code it certifies.
	Check(ctx context.Context, installation string, chain []*x509.Certificate, at time.Time) (string, error)
}

// Signer has a leader sign documents with their official credential in
// their capacity at the agency, after one second-factor approval (code)
// for the whole batch. It returns the signed PDFs in the order given.
type Signer interface {
	SignPDFs(ctx context.Context, accountID, agency, code string, docs []File) ([][]byte, error)
}

// PDFSeal applies the agency's seal to a signed PDF (an electronic seal
// over the leader's signature), as the clerk does when registering.
type PDFSeal interface {
	SealPDF(ctx context.Context, agency string, pdf []byte) ([]byte, error)
}

// Peers carries envelopes and status messages to other installations.
type Peers interface {
	// Installation is the identifier of the peer named (its public URL),
	// or a NotFound error for an unknown peer.
	Installation(ctx context.Context, peer string) (string, error)
	// PeerOf names the configured peer of an installation, or NotFound.
	PeerOf(ctx context.Context, installation string) (string, error)
	// Deliver posts an envelope to the peer.
	Deliver(ctx context.Context, peer string, envelope []byte) error
	// DeliverStatus posts a status message (JSON) to the peer.
	DeliverStatus(ctx context.Context, peer string, message []byte) error
}

// UseLog records reads of a person's data by someone else; documents
// name no citizen in their metadata, so edoc records nothing yet, but the
// hook is kept for the handler's answer to a citizen's letter.
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Options are what New builds the service on.
type Options struct {
	DB        *db.DB
	Clock     kernel.Clock
	Directory Directory
	Seals     Seals
	Signer    Signer  // nil: leaders cannot sign from the pages
	PDFSeal   PDFSeal // nil: registered documents are not sealed
	Peers     Peers   // nil: in-province only
	// Installation names this civitas in envelopes: its public URL.
	Installation string
	Logger       *slog.Logger
	// Replay is how old an envelope may be when it arrives (7 days).
	Replay time.Duration
}

// Service is the document exchange.
type Service struct {
	o Options
}

// New returns the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil || o.Directory == nil || o.Seals == nil || o.Installation == "" {
		return nil, kernel.E(kernel.Internal, "error.internal")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Replay == 0 {
		o.Replay = 7 * 24 * time.Hour
	}
	return &Service{o: o}, nil
}

// Installation is this civitas's name in envelopes.
func (s *Service) Installation() string { return s.o.Installation }

// Capacity is what an official may do in an agency's documents.
type Capacity int

// The capacities, from the registry's roles.
const (
	CanDraft Capacity = 1 << iota
	CanSign
	CanRegister
	CanAssign
)

// capacityOf maps a registry role to what it may do with documents.
func capacityOf(role string) Capacity {
	switch role {
	case "chairman", "vice_chairman", "director", "deputy_director", "principal", "vice_principal":
		return CanSign | CanAssign | CanDraft
	case "records_clerk":
		return CanRegister
	case "office_head":
		return CanRegister | CanAssign | CanDraft
	}
	return CanDraft
}

// official checks the actor is an official with cap in agency, and
// returns their account ID.
func (s *Service) official(ctx context.Context, agency string, cap Capacity) (string, error) {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorOfficial || a.ID == "" {
		return "", kernel.E(kernel.Forbidden, "edoc.error.not_official")
	}
	if on, ok := strings.CutPrefix(a.OnBehalfOf, "agency:"); ok && on != agency {
		return "", kernel.E(kernel.Forbidden, "edoc.error.not_staff")
	}
	posts, err := s.o.Directory.Posts(ctx, a.ID)
	if err != nil {
		return "", err
	}
	for _, p := range posts {
		if p.Agency == agency && capacityOf(p.Role)&cap != 0 {
			return a.ID, nil
		}
	}
	return "", kernel.E(kernel.Forbidden, "edoc.error.not_staff")
}

// Capacities returns what the account may do in each agency it serves.
func (s *Service) Capacities(ctx context.Context, accountID string) (map[string]Capacity, error) {
	posts, err := s.o.Directory.Posts(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := map[string]Capacity{}
	for _, p := range posts {
		out[p.Agency] |= capacityOf(p.Role)
	}
	return out, nil
}

// operatorOrSystem accepts operator commands and background work.
func operatorOrSystem(ctx context.Context) error {
	switch kernel.ActorFrom(ctx).Kind {
	case kernel.ActorOperator, kernel.ActorSystem:
		return nil
	}
	return kernel.E(kernel.Forbidden, "edoc.error.operator_only")
}
