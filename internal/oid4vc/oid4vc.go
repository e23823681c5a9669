package oid4vc

import (
	"context"
	"crypto"
	"errors"
	"log/slog"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/sdjwt"
	"civitas/internal/sealed"
	"civitas/internal/statuslist"
)

// Wallet is what OpenID4VC needs of the document wallet: its types, a
// person's documents, a copy of one bound to another key, and the check of
// a presented document. The wallet's adapter is in app.
type Wallet interface {
	// Types lists the document types, read once by New.
	Types() []Type
	// Document is one of the person's documents; another person's is
	// NotFound, as one that does not exist.
	Document(ctx context.Context, citizenID, id string) (Document, error)
	// NewestValid is the person's newest valid document of a type;
	// NotFound when they hold none.
	NewestValid(ctx context.Context, citizenID, typeCode string) (Document, error)
	// IssueCopy issues a copy of the person's valid document bound to key
	// (as an SD-JWT VC sharing the document's status entry) and audits it.
	// Another person's document is NotFound; one no longer valid a
	// Conflict; a key that cannot be used Invalid.
	IssueCopy(ctx context.Context, citizenID, id string, key crypto.PublicKey) (string, error)
	// Verify checks a presented document, with key binding when kb is set;
	// a presentation that does not verify is Invalid.
	Verify(ctx context.Context, presentation string, kb *sdjwt.ExpectKeyBinding) (Presented, error)
}

// Type is a document type as wallet apps and verifiers see it.
type Type struct {
	Code   string
	VCT    string            // its SD-JWT VC type: the URL of its type metadata
	Person bool              // held by persons (wallet apps hold only those)
	Names  map[string]string // by language: vi, en, ar
	Claims []Claim
}

// Claim is a claim of a type.
type Claim struct {
	Name     string
	Required bool
	Labels   map[string]string // by language
}

// Document is a document a person holds, without its claims.
type Document struct {
	ID     string
	Type   string // its type's code
	Agency string // the issuing agency's code
	Valid  bool   // neither revoked, suspended nor expired
}

// Presented is what a verifier learns of a presented document.
type Presented struct {
	Type      string         // its type's code
	Agency    string         // the issuing agency's code
	Claims    map[string]any // only what the holder disclosed
	IssuedAt  time.Time
	ExpiresAt time.Time
	Status    statuslist.Status
	KeyBound  bool // presented by its holder (key binding verified)
}

// languages are those of the metadata's names and labels.
var languages = []string{"vi", "en", "ar"}

// Options configure the service.
type Options struct {
	DB    *db.DB
	Clock kernel.Clock
	// Box seals the verdicts of presentations at rest.
	Box *sealed.Box
	// Issuer is the credential issuer: the province's public URL, the
	// wallet's issuer. The endpoints are under it.
	Issuer string
	Wallet Wallet
	// Logger logs refused protocol requests (their error codes only).
	Logger *slog.Logger
}

// Service is the OpenID4VCI credential issuer and the OpenID4VP verifier.
type Service struct {
	o     Options
	types map[string]Type
	order []string // type codes in the wallet's order
}

// New checks o and makes the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Box == nil || o.Wallet == nil || o.Issuer == "" {
		return nil, errors.New("oid4vc: DB, Box, Wallet and Issuer are required")
	}
	if o.Clock == nil {
		o.Clock = kernel.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	s := &Service{o: o, types: map[string]Type{}}
	for _, t := range o.Wallet.Types() {
		s.types[t.Code] = t
		s.order = append(s.order, t.Code)
	}
	return s, nil
}

// ProtocolError is an error of the OpenID4VC protocols, for the client:
// an HTTP status, an error code of the specifications and a description
// safe to show to the developer of the wallet app or verifier.
type ProtocolError struct {
	Status      int
	Code        string
	Description string
}

func (e *ProtocolError) Error() string { return "oid4vc: " + e.Code + ": " + e.Description }

func perr(status int, code, desc string) *ProtocolError {
	return &ProtocolError{Status: status, Code: code, Description: desc}
}

// Cleanup deletes expired nonces and presentation requests.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	var n int64
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		n, err = deleteExpired(ctx, tx)
		return err
	})
	if err != nil {
		return 0, kernel.Wrap(err, "oid4vc: cleanup")
	}
	return n, nil
}
