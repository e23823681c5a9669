package privacy

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/registry"
)

// Subject is a person whose data an export gathers: the signed-in citizen,
// or a child they are guardian of (Dependant, AccountID perhaps empty).
type Subject struct {
	AccountID string
	CitizenID string
	UnitCode  string // commune of residence, for the figures
	Name      string
	Dependant bool
}

// Field is one named value of a record. Names are stable (the JSON keeps
// them); the PDF shows them through the catalogue ("privacy.field.NAME")
// when it has them.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Record is one thing a capability holds about the person: an account, a
// document, a registration. Agency names who corrects it, "" when the
// person changes it themselves (their phone on the account page).
type Record struct {
	Kind   string  `json:"kind"`
	ID     string  `json:"id,omitempty"`
	Agency string  `json:"agency,omitempty"`
	Fields []Field `json:"fields"`
}

// Section is one source's records.
type Section struct {
	Name    string   `json:"name"`
	Records []Record `json:"records"`
}

// Source is one capability's export of what it holds about a person. A
// source returns only records of s: the adapters in app read by s's own
// account ID or citizen ID, never by anything another person could share.
type Source interface {
	Name() string
	Export(ctx context.Context, s Subject) ([]Record, error)
}

// Accounts finds the signed-in person.
type Accounts interface {
	Subject(ctx context.Context, accountID string) (Subject, error)
}

// Dependants lists the children an account is guardian of (Dependant set).
type Dependants interface {
	Dependants(ctx context.Context, accountID string) ([]Subject, error)
}

// Consent is a relying party an account let read its data.
type Consent struct {
	ClientID  string
	Name      string
	Purpose   string
	Scopes    []string
	GrantedAt time.Time
}

// Consents are the consents the person gave relying parties, which they
// may withdraw (the OpenID Provider's grants).
type Consents interface {
	Consents(ctx context.Context, accountID string) ([]Consent, error)
	Withdraw(ctx context.Context, accountID, clientID string) error
}

// Post is an official's post at an agency.
type Post struct {
	AgencyCode string
	AgencyName string
}

// Officials lists an account's posts, for the corrections desk.
type Officials interface {
	Posts(ctx context.Context, accountID string) ([]Post, error)
}

// UseLog is the data-use log (owned by the exchange capability): an
// official reading a person's correction request is a read by someone
// else.
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Figures adds to the per-commune figures of the dashboards inside the
// caller's transaction (app adapts internal/tally).
type Figures interface {
	Add(ctx context.Context, tx *db.Tx, name, unit string, delta int64)
}

// Options configure the service.
type Options struct {
	DB         *db.DB
	Clock      kernel.Clock
	Registry   *registry.Service
	Accounts   Accounts
	Dependants Dependants
	Consents   Consents
	Officials  Officials
	Sources    []Source
	UseLog     UseLog    // nil: reads are not logged (until the exchange's log lands)
	Figures    Figures   // nil: no figures
	Font       *pdf.Font // nil: no PDF export
	Logger     *slog.Logger
}

// Service is the personal-data rights capability.
type Service struct{ o Options }

// New checks o and makes the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil {
		return nil, errors.New("privacy: DB and Clock are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o}, nil
}

// The figures privacy publishes per commune.
const (
	FigureCorrectionsAsked = "privacy.corrections_asked"
	FigureCorrectionsOpen  = "privacy.corrections_open"
)

// Indicator describes a figure privacy publishes, as internal/tally's
// Indicator does (Kind "flow": events a day; "stock": what exists).
type Indicator struct {
	Name, TitleKey, Kind string
}

// Indicators are the figures privacy publishes for the dashboards.
func (s *Service) Indicators() []Indicator {
	return []Indicator{
		{Name: FigureCorrectionsAsked, TitleKey: "privacy.figure.corrections_asked", Kind: "flow"},
		{Name: FigureCorrectionsOpen, TitleKey: "privacy.figure.corrections_open", Kind: "stock"},
	}
}

// add moves a figure when the service has figures.
func (s *Service) add(ctx context.Context, tx *db.Tx, name, unit string, delta int64) {
	if s.o.Figures != nil {
		s.o.Figures.Add(ctx, tx, name, unit, delta)
	}
}

// self returns the account acting in ctx, when it is a citizen acting as
// themselves: exports and requests are the person's own acts.
func self(ctx context.Context, accountID string) error {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorCitizen || a.ID == "" || a.ID != accountID {
		return kernel.E(kernel.Forbidden, "privacy.error.not_yours")
	}
	return nil
}
