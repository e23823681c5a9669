package portal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/portal/calendar"
	"civitas/internal/registry"
)

// Subject kinds.
const (
	SubjectPerson       = "person"
	SubjectOrganisation = "organisation"
)

// Subject names whom a registry read or a wallet document is about.
type Subject struct {
	Kind string // SubjectPerson or SubjectOrganisation
	ID   string // citizen ID or enterprise code
}

// Query is one read of a registry service through the data exchange.
type Query struct {
	Service string
	Subject Subject
	Purpose string // a purpose of the exchange's catalogue
	CaseRef string // the application
}

// Answer is what the exchange answered, as received: the records, the
// signed receipt and the agency that keeps the registry.
type Answer struct {
	Records      []map[string]any
	Receipt      string
	Provider     string // agency code
	ProviderName string
}

// Exchange is every registry read the portal makes: the data exchange's
// query, with the reader in the context (the applicant, or an official
// acting for an agency). The exchange logs each read for the person whose
// data it is.
type Exchange interface {
	Query(ctx context.Context, q Query) (Answer, error)
}

// Holding is a document of a holder's wallet, for pre-filling.
type Holding struct {
	DocumentID string
	Claims     map[string]any
	Agency     string
}

// TypeInfo is what the portal needs of a wallet document type.
type TypeInfo struct {
	Names    map[string]string // by language
	Claims   []string          // claim names
	Required []string
	Registry bool // a registry holds the type: it can be issued from it
}

// Issuance is a result issued into a wallet.
type Issuance struct {
	Agency string
	Type   string
	Holder Subject
	// Claims fill the document; nil takes them from the registry holding
	// the type (Record chooses which of the holder's records).
	Claims map[string]any
	Record string
}

// Wallet is the document wallet: the holder's documents read for
// pre-filling, results issued into it, and their PDF rendering for the
// official's signature.
type Wallet interface {
	Type(code string) (TypeInfo, error)
	Types() []string
	// Holding is the holder's newest valid document of a type; NotFound
	// when there is none.
	Holding(ctx context.Context, holder Subject, typeCode string) (Holding, error)
	Issue(ctx context.Context, in Issuance) (string, error) // the document ID
	// RenderPDF renders an issued document as a PDF, unsigned: the
	// official signs it and the agency seals it (Signer.SignResult).
	RenderPDF(ctx context.Context, holder Subject, documentID, lang string) ([]byte, error)
	// Credential is the issued SD-JWT VC with all its disclosures.
	Credential(ctx context.Context, holder Subject, documentID string) (string, error)
}

// Signature is a signature made with a remote signing credential.
type Signature struct {
	Value        []byte // the signature over the digest
	Certificate  []byte // DER, of the signing credential
	CredentialID string
}

// Signer is remote signing: the applicant signs the declaration's digest
// with their own credential, approved with a one-time code; the deciding
// official signs the result PDF with their credential in their capacity
// at the agency, approved with a code, and the agency seals it.
type Signer interface {
	SignDeclaration(ctx context.Context, accountID, code, label string, digest []byte) (Signature, error)
	// CanSignResult reports whether the official has an active credential
	// in their capacity at the agency (checked before a decision changes
	// anything).
	CanSignResult(ctx context.Context, accountID, agency string) error
	SignResult(ctx context.Context, accountID, agency, code, name string, pdf []byte) ([]byte, error)
}

// Payment is a payment of an application's fee as the payments capability
// reports it.
type Payment struct {
	ID     string
	Status string // PaymentPending, PaymentPaid, PaymentFailed, PaymentRefunded
	Amount int64
	// What to show the payer: a VietQR payload (for a QR code) and a URL
	// to pay at.
	QRPayload string
	URL       string
}

// Payment statuses, as Payments reports them.
const (
	PaymentPending  = "pending"
	PaymentPaid     = "paid"
	PaymentFailed   = "failed"
	PaymentRefunded = "refunded"
)

// PaymentRequest starts the payment of an application's fee.
type PaymentRequest struct {
	ApplicationID string
	Procedure     string
	Agency        string // the agency the fee is paid to
	Amount        int64  // VND
	Description   string
	PayerCitizen  string
	ReturnURL     string
}

// Payments is the payments capability: start a payment of an
// application's fee, ask whether it is paid, refund it.
type Payments interface {
	Start(ctx context.Context, r PaymentRequest) (Payment, error)
	Status(ctx context.Context, paymentID string) (Payment, error)
	Refund(ctx context.Context, paymentID, reason string) error
}

// Notice is a status change told to an account: a catalogue key and its
// arguments, rendered in the recipient's language.
type Notice struct {
	AccountID string
	Template  string
	Args      []string
}

// Notifier tells applicants of their applications (inbox, SMS, e-mail), in
// the transaction of the change: the notice goes if and only if it commits.
type Notifier interface {
	Notify(ctx context.Context, tx *db.Tx, n Notice) error
}

// Account is an e-ID account as the portal needs it.
type Account struct {
	ID        string
	CitizenID string
	Level     int
	Active    bool
}

// Dependent is a child an account is guardian of.
type Dependent struct {
	CitizenID string
	Name      string
}

// Membership is an organisation an account acts for.
type Membership struct {
	RegNumber string
	Name      string
}

// Post is an official's post at an agency.
type Post struct {
	Agency registry.Agency
	Role   registry.Role
}

// Accounts is the e-ID: accounts, guardianship, organisations, officials'
// posts, and the guardianship of a child born to the applicant.
type Accounts interface {
	Account(ctx context.Context, id string) (Account, error)
	AccountOf(ctx context.Context, citizenID string) (Account, error)
	Dependents(ctx context.Context, accountID string) ([]Dependent, error)
	Organisations(ctx context.Context, accountID string) ([]Membership, error)
	Posts(ctx context.Context, accountID string) ([]Post, error)
	// AddDependent records the account holder as guardian of a child of
	// their household (a child whose birth they registered).
	AddDependent(ctx context.Context, accountID, childCitizenID string) error
}

// UseLog is the data-use log: reads of a person's data by someone other
// than that person, written in the caller's transaction.
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Token is a verified OpenID access token of a citizen's app.
type Token struct {
	AccountID string
	ClientID  string
	Scopes    []string
	ACR       string
}

// Tokens verifies the access tokens the JSON API is called with.
type Tokens interface {
	Verify(r *http.Request) (Token, error)
}

// Options configure the service.
type Options struct {
	DB        *db.DB
	Clock     kernel.Clock
	Registry  *registry.Service
	Catalogue *Catalogue
	Calendar  *calendar.Calendar
	Exchange  Exchange
	Wallet    Wallet
	Accounts  Accounts
	Signer    Signer   // nil: no procedure asking for a signature can be submitted, no result PDF
	Payments  Payments // nil: fees are paid at the counter only
	Notifier  Notifier // nil: nobody is told
	UseLog    UseLog   // nil: officials' reads are not logged here (the exchange logs its own)
	Logger    *slog.Logger
	// MaxUpload bounds one uploaded file; default 10 MiB.
	MaxUpload int64
	// PublicURL is where the portal's pages are, for payment return links.
	PublicURL string
}

// Service is the public-service portal.
type Service struct {
	o      Options
	routes sync.Map // routeKey -> routed: communes' agencies, for a while
}

// New checks o and makes the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil || o.Registry == nil || o.Catalogue == nil || o.Exchange == nil || o.Wallet == nil || o.Accounts == nil {
		return nil, errors.New("portal: DB, Clock, Registry, Catalogue, Exchange, Wallet and Accounts are required")
	}
	if o.Calendar == nil {
		o.Calendar = calendar.Default()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = 10 << 20
	}
	for _, p := range o.Catalogue.Procedures() {
		for _, pt := range p.AllParts() {
			if pt.Result == "" {
				continue
			}
			if _, err := o.Wallet.Type(pt.Result); err != nil {
				return nil, errors.New("portal: procedure " + p.Code + ": the wallet has no document type " + pt.Result)
			}
		}
	}
	return &Service{o: o}, nil
}

// Catalogue is the procedures' catalogue.
func (s *Service) Catalogue() *Catalogue { return s.o.Catalogue }

// Calendar is the working-day calendar.
func (s *Service) Calendar() *calendar.Calendar { return s.o.Calendar }

// today is the province's civil day of t.
func today(t time.Time) calendar.Date { return calendar.DateOf(t.In(kernel.Zone())) }
