package wallet

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/sealed"
	"civitas/internal/statuslist"
)

// Document statuses, as the status list says them.
const (
	StatusValid     = "valid"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
)

// Seals gives the wallet an agency's signing key and certificate chain:
// the agency's seal from the trust services (issued on first use), and the
// seals in use, whose keys the issuer metadata publishes. The trust
// services' adapter is in app.
type Seals interface {
	Seal(ctx context.Context, agencyCode string) (crypto.Signer, []*x509.Certificate, error)
	Seals(ctx context.Context) ([]SealCertificate, error)
}

// SealCertificate is the certificate of an agency's seal in use.
type SealCertificate struct {
	Agency string // the agency's code
	Cert   *x509.Certificate
}

// Registries are what the wallet reads: the agencies, and the registries
// documents are filled from.
type Registries interface {
	Agency(ctx context.Context, code string) (registry.Agency, error)
	Person(ctx context.Context, citizenID string) (registry.Person, error)
	Business(ctx context.Context, regNumber string) (registry.Business, error)
	Unit(ctx context.Context, code string) (registry.Unit, error)
	InsuranceCard(ctx context.Context, citizenID string) (registry.InsuranceCard, error)
	Vehicle(ctx context.Context, plate string) (registry.Vehicle, error)
	VehiclesOf(ctx context.Context, citizenID string) ([]registry.Vehicle, error)
}

var _ Registries = (*registry.Service)(nil)

// StatusLists hands out and changes entries of Token Status Lists, inside
// the wallet's transactions (a document and its entry commit together).
// Each agency has its own group of lists, signed with its seal, which the
// wallet publishes at /status/{list} (MountPublic).
type StatusLists interface {
	Ensure(ctx context.Context, group string) error
	Allocate(ctx context.Context, tx *db.Tx, group string) (statuslist.Entry, error)
	Set(ctx context.Context, tx *db.Tx, list string, idx int, st statuslist.Status) error
	Status(ctx context.Context, list string, idx int) (statuslist.Status, error)
	Published(ctx context.Context, list string) (statuslist.Published, error)
}

var _ StatusLists = (*statuslist.Store)(nil)

// Options configure the wallet.
type Options struct {
	DB         *db.DB
	Clock      kernel.Clock
	Box        *sealed.Box // seals credentials and holder keys at rest
	Catalogue  *Catalogue
	Seals      Seals
	Registries Registries
	Status     StatusLists
	// Issuer is the credentials' `iss`: the province's public URL, where
	// /.well-known/jwt-vc-issuer publishes the agencies' keys.
	Issuer string
	Logger *slog.Logger
	// SignatureCache is how many verified issuer signatures Verify
	// remembers (a card shown again is checked without its issuer's
	// signature; its key binding, disclosures and status always are):
	// 0 means 4,096, a negative number none.
	SignatureCache int
	// PDF lets holders download a document as a PDF sealed by its issuing
	// agency (pdf.go); nil turns that off.
	PDF *PDFOptions
	// UseLog is the data-use log every holdings query about a person is
	// written to (the person sees it with every other read of their data);
	// nil writes none.
	UseLog UseLog
}

// UseLog records a read of a person's data by someone else, in the
// caller's transaction: the data exchange's log, which the person sees.
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Service is the wallet.
type Service struct {
	o Options

	mu    sync.Mutex
	seals map[string]cachedSeal // by agency code

	issuer   issuerKeys
	sigCache *sdjwt.SignatureCache
	ensured  sync.Map // status-list groups made sure of in this process
}

// cachedSeal is an agency's opened seal key, kept briefly: issuing in bulk
// must not reopen it per document. A seal revoked meanwhile signs for at
// most sealTTL more.
type cachedSeal struct {
	signer crypto.Signer
	chain  []*x509.Certificate
	kid    string
	alg    string
	until  time.Time
}

const sealTTL = time.Minute

// New returns the wallet.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Box == nil || o.Catalogue == nil || o.Seals == nil || o.Registries == nil || o.Status == nil || o.Issuer == "" {
		return nil, kernel.Wrap(errMissing, "wallet: options")
	}
	if o.Clock == nil {
		o.Clock = kernel.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	s := &Service{o: o, seals: map[string]cachedSeal{}}
	switch {
	case o.SignatureCache == 0:
		s.sigCache = sdjwt.NewSignatureCache(4096)
	case o.SignatureCache > 0:
		s.sigCache = sdjwt.NewSignatureCache(o.SignatureCache)
	}
	return s, nil
}

var errMissing = errors.New("DB, Box, Catalogue, Seals, Registries, Status and Issuer are required")

// Catalogue returns the document types.
func (s *Service) Catalogue() *Catalogue { return s.o.Catalogue }

// Holder names whom a document is issued to.
type Holder struct {
	Kind string // HolderPerson or HolderOrganisation
	ID   string // citizen ID or enterprise code
}

// Document is a document in a wallet, without its claims.
type Document struct {
	ID        string
	Type      string
	Holder    Holder
	Agency    string // code of the issuing agency
	IssuedAt  time.Time
	ExpiresAt time.Time // zero: does not expire
	Status    string
	Hidden    bool
	Replaces  string // the document this one re-issued, if any
}

// Valid reports whether the document is valid at t: not suspended, not
// revoked, not expired.
func (d Document) Valid(t time.Time) bool {
	return d.Status == StatusValid && (d.ExpiresAt.IsZero() || t.Before(d.ExpiresAt))
}

// seal returns the agency's signing key, algorithm and key ID.
func (s *Service) seal(ctx context.Context, agency string) (cachedSeal, error) {
	now := s.o.Clock.Now()
	s.mu.Lock()
	c, ok := s.seals[agency]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c, nil
	}
	signer, chain, err := s.o.Seals.Seal(ctx, agency)
	if err != nil {
		return cachedSeal{}, err
	}
	alg, err := jose.AlgFor(signer.Public())
	if err != nil {
		return cachedSeal{}, kernel.Wrap(err, "wallet: seal of %s", agency)
	}
	jwk, err := jose.PublicJWK(signer.Public())
	if err != nil {
		return cachedSeal{}, kernel.Wrap(err, "wallet: seal of %s", agency)
	}
	kid, err := jwk.Thumbprint()
	if err != nil {
		return cachedSeal{}, kernel.Wrap(err, "wallet: seal of %s", agency)
	}
	c = cachedSeal{signer: signer, chain: chain, kid: kid, alg: alg, until: now.Add(sealTTL)}
	s.mu.Lock()
	s.seals[agency] = c
	s.mu.Unlock()
	return c, nil
}

// holderKey returns the key a holder's documents are bound to (cnf) and
// that signs their presentations: made on first use, sealed at rest, and
// never leaving the server — the wallet is on the server, as the e-ID is.
func (s *Service) holderKey(ctx context.Context, tx *db.Tx, h Holder) (*ecdsa.PrivateKey, error) {
	var stored string
	err := tx.QueryRow(ctx, `SELECT private_sealed FROM wallet_holder_keys WHERE holder_kind = ? AND holder_id = ?`, h.Kind, h.ID).Scan(&stored)
	if err == nil {
		return s.openHolderKey(h, stored)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	sealedKey := base64.StdEncoding.EncodeToString(s.o.Box.Seal(der, holderAAD(h)))
	if _, err := tx.Exec(ctx, `INSERT INTO wallet_holder_keys (holder_kind, holder_id, private_sealed, created_at) VALUES (?, ?, ?, ?)`,
		h.Kind, h.ID, sealedKey, kernel.Micros(tx.Now)); err != nil {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	return key, nil
}

func holderAAD(h Holder) []byte { return []byte("wallet.holder:" + h.Kind + ":" + h.ID) }

func (s *Service) openHolderKey(h Holder, stored string) (*ecdsa.PrivateKey, error) {
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	der, err := s.o.Box.Open(raw, holderAAD(h))
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, kernel.Wrap(errors.New("not ECDSA"), "wallet: holder key")
	}
	return key, nil
}

func credentialAAD(id string) []byte { return []byte("wallet.document:" + id) }

// fromRegistry is a document's content as a registry holds it: its claims,
// and when the registry's record ends (zero: the type's validity applies).
type fromRegistry struct {
	claims  map[string]any
	expires time.Time
}

// claimsFromRegistry fills a type's claims from the registry that holds
// them, for issuers that give none and for citizens pulling a document.
// record names one of the holder's records where the registry may hold
// several (a vehicle's plate); empty, the holder must have exactly one.
func (s *Service) claimsFromRegistry(ctx context.Context, t Type, h Holder, record string) (fromRegistry, error) {
	if record != "" && t.Source != SourceVehicles {
		return fromRegistry{}, kernel.E(kernel.Invalid, "wallet.error.record_not_used")
	}
	switch t.Source {
	case SourceInsurance:
		return s.insuranceClaims(ctx, t, h)
	case SourceVehicles:
		return s.vehicleClaims(ctx, t, h, record)
	}
	claims, err := s.registryClaims(ctx, t, h)
	return fromRegistry{claims: claims}, err
}

// registryClaims fills the claims of the population and business registries.
func (s *Service) registryClaims(ctx context.Context, t Type, h Holder) (map[string]any, error) {
	switch t.Source {
	case SourcePopulation:
		p, err := s.o.Registries.Person(ctx, h.ID)
		if err != nil {
			return nil, err
		}
		residence := p.UnitCode
		if u, err := s.o.Registries.Unit(ctx, p.UnitCode); err == nil {
			residence = u.Name
		}
		all := map[string]any{
			"citizen_id": p.CitizenID, "full_name": p.FullName, "birth_date": p.BirthDate, "sex": string(p.Sex),
			"residence": residence, "nationality": "Việt Nam", "household_id": p.HouseholdID, "place_of_birth": residence,
		}
		return onlyTypeClaims(t, all), nil
	case SourceBusiness:
		b, err := s.o.Registries.Business(ctx, h.ID)
		if err != nil {
			return nil, err
		}
		rep := b.LegalRepCitizenID
		if p, err := s.o.Registries.Person(ctx, b.LegalRepCitizenID); err == nil {
			rep = p.FullName
		}
		address := b.UnitCode
		if u, err := s.o.Registries.Unit(ctx, b.UnitCode); err == nil {
			address = u.Name
		}
		all := map[string]any{"reg_number": b.RegNumber, "name": b.Name, "legal_representative": rep,
			"registered_on": b.RegisteredOn, "address": address}
		return onlyTypeClaims(t, all), nil
	}
	return nil, kernel.E(kernel.Invalid, "wallet.error.no_source")
}

// insuranceClaims fills a health-insurance card from the person's card in
// the health-insurance registry, with their name, birth date and sex from
// the population registry. The document expires when the card does; a card
// that has ended is a Conflict, not a document born expired.
func (s *Service) insuranceClaims(ctx context.Context, t Type, h Holder) (fromRegistry, error) {
	if h.Kind != HolderPerson {
		return fromRegistry{}, kernel.E(kernel.Invalid, "wallet.error.wrong_holder")
	}
	c, err := s.o.Registries.InsuranceCard(ctx, h.ID)
	if err != nil {
		return fromRegistry{}, err
	}
	p, err := s.o.Registries.Person(ctx, h.ID)
	if err != nil {
		return fromRegistry{}, err
	}
	from, err := time.ParseInLocation(time.DateOnly, c.ValidFrom, kernel.Zone())
	if err != nil {
		return fromRegistry{}, kernel.Wrap(err, "wallet: insurance card validity")
	}
	until, err := time.ParseInLocation(time.DateOnly, c.ValidTo, kernel.Zone())
	if err != nil {
		return fromRegistry{}, kernel.Wrap(err, "wallet: insurance card validity")
	}
	// Valid from its first day through its last, in Vietnam.
	now, expires := s.o.Clock.Now(), until.AddDate(0, 0, 1).UTC()
	if now.Before(from) {
		return fromRegistry{}, kernel.E(kernel.Conflict, "wallet.error.record_not_yet_valid", from.Format("02/01/2006"))
	}
	if !now.Before(expires) {
		return fromRegistry{}, kernel.E(kernel.Conflict, "wallet.error.record_expired")
	}
	all := map[string]any{"card_number": c.CardNumber, "full_name": p.FullName, "birth_date": p.BirthDate, "sex": string(p.Sex),
		"hospital": c.Hospital, "benefit_level": c.BenefitLevel, "valid_from": c.ValidFrom, "valid_to": c.ValidTo}
	return fromRegistry{claims: normaliseClaims(onlyTypeClaims(t, all)), expires: expires}, nil
}

// vehicleClaims fills a vehicle registration from the vehicle registry: the
// vehicle with plate record, which h must own, or h's only vehicle.
func (s *Service) vehicleClaims(ctx context.Context, t Type, h Holder, record string) (fromRegistry, error) {
	if h.Kind != HolderPerson {
		return fromRegistry{}, kernel.E(kernel.Invalid, "wallet.error.wrong_holder")
	}
	v, err := s.holderVehicle(ctx, h, record)
	if err != nil {
		return fromRegistry{}, err
	}
	p, err := s.o.Registries.Person(ctx, h.ID)
	if err != nil {
		return fromRegistry{}, err
	}
	all := map[string]any{"plate": v.Plate, "full_name": p.FullName, "make": v.Make, "model": v.Model, "colour": v.Colour,
		"registered_on": v.RegisteredOn, "frame_number": v.FrameNumber, "engine_number": v.EngineNumber}
	return fromRegistry{claims: normaliseClaims(onlyTypeClaims(t, all))}, nil
}

// holderVehicle is the vehicle with plate record if h owns it, or h's only
// vehicle when record is empty.
func (s *Service) holderVehicle(ctx context.Context, h Holder, record string) (registry.Vehicle, error) {
	if record == "" {
		vs, err := s.o.Registries.VehiclesOf(ctx, h.ID)
		switch {
		case err != nil:
			return registry.Vehicle{}, err
		case len(vs) == 0:
			return registry.Vehicle{}, kernel.E(kernel.NotFound, "wallet.error.no_vehicle")
		case len(vs) > 1:
			return registry.Vehicle{}, kernel.E(kernel.Invalid, "wallet.error.choose_vehicle", len(vs))
		}
		return vs[0], nil
	}
	v, err := s.o.Registries.Vehicle(ctx, record)
	// Another person's vehicle is not found either: which plates exist is
	// none of this issuance's business.
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && v.OwnerCitizenID != h.ID {
		return registry.Vehicle{}, kernel.E(kernel.NotFound, "wallet.error.not_their_vehicle")
	}
	return v, err
}

// onlyTypeClaims keeps the claims t has.
func onlyTypeClaims(t Type, all map[string]any) map[string]any {
	out := map[string]any{}
	for _, c := range t.Claims {
		if v, ok := all[c.Name]; ok {
			out[c.Name] = v
		}
	}
	return out
}

// normaliseClaims turns JSON numbers into float64 and drops empty optional
// values, so what is signed is what the type says.
func normaliseClaims(claims map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		switch x := v.(type) {
		case nil:
			continue
		case string:
			if x == "" {
				continue
			}
		case json.Number:
			f, err := x.Float64()
			if err == nil {
				v = f
			}
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		}
		out[k] = v
	}
	return out
}

// auditDocument is the audit entry of a change to a document: identifiers,
// never claims.
func auditDocument(action string, d Document, extra map[string]any) audit.Entry {
	details := map[string]any{"type": d.Type, "agency": d.Agency, "holder_kind": d.Holder.Kind}
	for k, v := range extra {
		details[k] = v
	}
	return audit.Entry{Action: action, SubjectType: "wallet_document", SubjectID: d.ID, Details: details}
}
