package app

import (
	"context"
	"math/big"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/notify"
	"civitas/internal/oidc"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/portal"
	"civitas/internal/portal/calendar"
	"civitas/internal/registry"
	"civitas/internal/signing"
	"civitas/internal/wallet"
)

// The portal's adapters: the registries read behind the exchange's query
// interface (until the exchange is wired: then its Query replaces
// portalExchange), the wallet for pre-filling and results, remote signing
// for declarations and results, notify for the applicants, the e-ID for
// accounts, guardianship and posts.
var (
	_ portal.Exchange = portalExchange{}
	_ portal.Wallet   = portalWallet{}
	_ portal.Signer   = portalSigner{}
	_ portal.Accounts = portalAccounts{}
	_ portal.Notifier = portalNotifier{}
)

// PortalOptions are what OpenPortal builds the portal on.
type PortalOptions struct {
	DB       *db.DB
	Clock    kernel.Clock
	Registry *registry.Service
	Identity *identity.Service
	Wallet   *wallet.Service
	Signing  *signing.Service // nil: no signed declarations nor signed results
	CA       *pki.Service
	Notify   *notify.Service
	Font     *pdf.Font
	UseLog   portal.UseLog
	Payments portal.Payments
	Config   config.Config
}

// OpenPortal builds the public-service portal: the catalogue (shipped, and
// DATA/portal/procedures/*.json), the calendar (DATA/portal/holidays.json
// if present) and the service on its adapters.
func OpenPortal(o PortalOptions) (*portal.Service, error) {
	w := portalWallet{w: o.Wallet, font: o.Font, issuer: o.Config.PublicURL}
	cat, err := portal.LoadCatalogue(filepath.Join(o.Config.DataDir, "portal", "procedures"), portal.CatalogueOptions{WalletTypes: w.Types()})
	if err != nil {
		return nil, err
	}
	cal, err := calendar.Load(filepath.Join(o.Config.DataDir, "portal", "holidays.json"))
	if err != nil {
		return nil, err
	}
	so := portal.Options{DB: o.DB, Clock: o.Clock, Registry: o.Registry, Catalogue: cat, Calendar: cal,
		Exchange: PortalRegistryExchange(o.Registry, o.Identity, o.DB, o.Clock, o.UseLog), Wallet: w,
		Accounts: portalAccounts{o.Identity}, Payments: o.Payments, UseLog: o.UseLog, PublicURL: o.Config.PublicURL}
	if o.Signing != nil && o.CA != nil {
		so.Signer = portalSigner{s: o.Signing, ca: o.CA, sealer: walletPDFSealer{ca: o.CA, clock: o.Clock}}
	}
	if o.Notify != nil {
		so.Notifier = portalNotifier{o.Notify}
	}
	return portal.New(so)
}

// mountPortal serves the portal's pages, desk and API, and adds the portal
// scope mobile apps ask for.
func (a *App) mountPortal() error {
	if err := a.oidc.AddScopes(portalScope()); err != nil {
		return err
	}
	return a.portal.Mount(a.web, portal.MountOptions{Tokens: portalTokens{a.oidc}})
}

// portalExchange reads the registries for the portal as the data exchange
// answers its services, and writes a read of someone else's data to the
// data-use log. It stands in for the exchange until that is wired: the
// service codes and field names are the exchange's.
type portalExchange struct {
	reg       *registry.Service
	id        *identity.Service
	d         *db.DB
	clock     kernel.Clock
	log       portal.UseLog
	providers *sync.Map // kind+unit -> provider, for a while
}

type provider struct {
	agency registry.Agency
	until  time.Time
}

// provider is the agency keeping a registry for a unit (kept ten minutes:
// agencies are seated by decision, seldom).
func (x portalExchange) provider(ctx context.Context, kind registry.AgencyKind, unit string) (registry.Agency, error) {
	k := string(kind) + "/" + unit
	now := x.clock.Now()
	if v, ok := x.providers.Load(k); ok && now.Before(v.(provider).until) {
		return v.(provider).agency, nil
	}
	ag, err := x.reg.AgencyServing(ctx, kind, unit)
	if err == nil {
		x.providers.Store(k, provider{agency: ag, until: now.Add(10 * time.Minute)})
	}
	return ag, err
}

// PortalRegistryExchange is the portal's registry reads without the
// exchange; log may be nil (reads are then not logged for the person).
func PortalRegistryExchange(reg *registry.Service, id *identity.Service, d *db.DB, clock kernel.Clock, log portal.UseLog) portal.Exchange {
	return portalExchange{reg: reg, id: id, d: d, clock: clock, log: log, providers: &sync.Map{}}
}

func (x portalExchange) Query(ctx context.Context, q portal.Query) (portal.Answer, error) {
	svc, ok := portalService(q.Service)
	if !ok {
		return portal.Answer{}, kernel.E(kernel.Invalid, "portal.error.bad_source")
	}
	var unit string
	var recs []map[string]any
	var err error
	switch q.Subject.Kind {
	case portal.SubjectPerson:
		var p registry.Person
		if p, err = x.reg.Person(ctx, q.Subject.ID); err != nil {
			return portal.Answer{}, err
		}
		unit = p.UnitCode
		recs, err = x.personRecords(ctx, q.Service, p)
	case portal.SubjectOrganisation:
		var b registry.Business
		if b, err = x.reg.Business(ctx, q.Subject.ID); err != nil {
			return portal.Answer{}, err
		}
		unit = b.UnitCode
		if q.Service == "business.enterprise" {
			recs = []map[string]any{{"reg_number": b.RegNumber, "name": b.Name, "legal_rep": b.LegalRepCitizenID, "unit": b.UnitCode, "registered_on": b.RegisteredOn}}
		} else {
			err = kernel.E(kernel.Invalid, "portal.error.bad_source")
		}
	default:
		err = kernel.E(kernel.Invalid, "portal.error.bad_source")
	}
	if err != nil {
		return portal.Answer{}, err
	}
	ans := portal.Answer{Records: recs}
	if ag, err := x.provider(ctx, svc.Provider, unit); err == nil {
		ans.Provider, ans.ProviderName = ag.Code, ag.Name
	}
	if x.log != nil && q.Subject.Kind == portal.SubjectPerson && !x.readsOwn(ctx, q.Subject.ID) {
		var fields []string
		if len(recs) > 0 {
			for k := range recs[0] {
				fields = append(fields, k)
			}
		}
		err := x.d.Update(ctx, x.clock.Now(), func(tx *db.Tx) error {
			actor := kernel.ActorFrom(ctx)
			return x.log.Record(ctx, tx, kernel.DataUse{Subject: q.Subject.ID, Reader: actor, Agency: strings.TrimPrefix(actor.OnBehalfOf, "agency:"),
				ReaderName: ans.ProviderName, Channel: "portal", Service: q.Service, Fields: fields, Purpose: q.Purpose, CaseRef: q.CaseRef})
		})
		if err != nil {
			return portal.Answer{}, err
		}
	}
	return ans, nil
}

// readsOwn reports whether the actor is the person whose data it is.
func (x portalExchange) readsOwn(ctx context.Context, citizenID string) bool {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorCitizen || x.id == nil {
		return false
	}
	acct, err := x.id.Account(ctx, a.ID)
	return err == nil && acct.CitizenID == citizenID
}

func portalService(code string) (portal.RegistryService, bool) {
	for _, s := range portal.RegistryServices() {
		if s.Code == code {
			return s, true
		}
	}
	return portal.RegistryService{}, false
}

// personRecords answers a person's services from the registries; a record
// the registry does not hold is no record, not an error.
func (x portalExchange) personRecords(ctx context.Context, service string, p registry.Person) ([]map[string]any, error) {
	absent := func(err error) ([]map[string]any, error) {
		if kernel.ErrorCode(err) == kernel.NotFound {
			return nil, nil
		}
		return nil, err
	}
	switch service {
	case "population.person":
		r := map[string]any{"citizen_id": p.CitizenID, "full_name": p.FullName, "birth_date": p.BirthDate, "sex": string(p.Sex),
			"household_id": p.HouseholdID, "unit": p.UnitCode}
		if p.Phone != "" {
			r["phone"] = p.Phone
		}
		return []map[string]any{r}, nil
	case "residence.household":
		if p.HouseholdID == "" {
			return nil, nil
		}
		h, err := x.reg.Household(ctx, p.HouseholdID)
		if err != nil {
			return absent(err)
		}
		ms, err := x.reg.HouseholdMembers(ctx, p.HouseholdID)
		if err != nil && kernel.ErrorCode(err) != kernel.NotFound {
			return nil, err
		}
		members := make([]any, len(ms))
		for i, m := range ms {
			members[i] = map[string]any{"citizen_id": m.CitizenID, "full_name": m.FullName, "birth_date": m.BirthDate, "sex": string(m.Sex)}
		}
		r := map[string]any{"household_id": h.ID, "unit": h.UnitCode, "address": h.Address, "members": members}
		if h.AreaCode != "" {
			r["area_code"] = h.AreaCode
		}
		if h.HeadCitizenID != "" {
			r["head_citizen_id"] = h.HeadCitizenID
		}
		return []map[string]any{r}, nil
	case "civil_status.birth":
		b, err := x.reg.Birth(ctx, p.CitizenID)
		if err != nil {
			return absent(err)
		}
		r := map[string]any{"citizen_id": b.CitizenID, "full_name": b.FullName, "birth_date": b.BirthDate, "sex": string(b.Sex),
			"place_of_birth": b.PlaceOfBirth, "registration_number": b.RegistrationNumber, "registered_on": b.RegisteredOn, "agency": b.AgencyCode}
		for k, v := range map[string]string{"mother_citizen_id": b.MotherCitizenID, "mother_name": b.MotherName,
			"father_citizen_id": b.FatherCitizenID, "father_name": b.FatherName} {
			if v != "" {
				r[k] = v
			}
		}
		return []map[string]any{r}, nil
	case "civil_status.marital_status":
		st, m, err := x.reg.MaritalStatusOf(ctx, p.CitizenID)
		if err != nil {
			return absent(err)
		}
		r := map[string]any{"marital_status": string(st)}
		if m != nil && st == registry.Married {
			spouse := m.WifeCitizenID
			if spouse == p.CitizenID {
				spouse = m.HusbandCitizenID
			}
			r["spouse_citizen_id"], r["married_on"] = spouse, m.MarriedOn
		}
		return []map[string]any{r}, nil
	case "civil_status.death":
		d, err := x.reg.Death(ctx, p.CitizenID)
		if err != nil {
			return absent(err)
		}
		return []map[string]any{{"died_on": d.DiedOn, "place_of_death": d.PlaceOfDeath}}, nil
	case "insurance.card":
		c, err := x.reg.InsuranceCard(ctx, p.CitizenID)
		if err != nil {
			return absent(err)
		}
		return []map[string]any{{"card_number": c.CardNumber, "citizen_id": c.CitizenID, "hospital": c.Hospital, "benefit_level": c.BenefitLevel,
			"valid_from": c.ValidFrom, "valid_to": c.ValidTo}}, nil
	case "vehicle.of_owner":
		vs, err := x.reg.VehiclesOf(ctx, p.CitizenID)
		if err != nil {
			return nil, err
		}
		var out []map[string]any
		for _, v := range vs {
			out = append(out, map[string]any{"plate": v.Plate, "owner": v.OwnerCitizenID, "make": v.Make, "model": v.Model, "colour": v.Colour, "registered_on": v.RegisteredOn,
				"frame_number": v.FrameNumber, "engine_number": v.EngineNumber})
		}
		return out, nil
	case "land.parcels_of_owner":
		ps, err := x.reg.ParcelsOf(ctx, p.CitizenID)
		if err != nil {
			return nil, err
		}
		var out []map[string]any
		for _, pc := range ps {
			owners := make([]any, len(pc.Owners))
			for i, o := range pc.Owners {
				owners[i] = map[string]any{"owner_kind": string(o.Kind), "owner_id": o.OwnerID}
			}
			r := map[string]any{"parcel_id": pc.ID, "unit": pc.UnitCode, "map_sheet": strconv.Itoa(pc.MapSheet), "parcel_number": strconv.Itoa(pc.ParcelNumber),
				"area_m2": strconv.FormatFloat(pc.AreaM2, 'f', -1, 64), "land_use": pc.LandUse, "address": pc.Address, "owners": owners}
			if c := pc.Certificate; c != nil {
				r["certificate"] = map[string]any{"certificate_number": c.Number, "issued_on": c.IssuedOn, "agency": c.AgencyCode}
			}
			out = append(out, r)
		}
		return out, nil
	case "business.of_representative":
		bs, err := x.reg.BusinessesOf(ctx, p.CitizenID)
		if err != nil {
			return nil, err
		}
		var out []map[string]any
		for _, b := range bs {
			out = append(out, map[string]any{"reg_number": b.RegNumber, "name": b.Name, "legal_rep": b.LegalRepCitizenID, "unit": b.UnitCode,
				"registered_on": b.RegisteredOn})
		}
		return out, nil
	case "business.household_of_owner":
		hs, err := x.reg.HouseholdBusinessesOf(ctx, p.CitizenID)
		if err != nil {
			return nil, err
		}
		var out []map[string]any
		for _, h := range hs {
			out = append(out, map[string]any{"reg_number": h.RegNumber, "name": h.Name, "address": h.Address, "activity": h.Activity})
		}
		return out, nil
	}
	return nil, kernel.E(kernel.Invalid, "portal.error.bad_source")
}

// portalWallet gives the portal the document wallet.
type portalWallet struct {
	w      *wallet.Service
	font   *pdf.Font
	issuer string
}

func (p portalWallet) Types() []string {
	var out []string
	for _, t := range p.w.Catalogue().Types() {
		out = append(out, t.Code)
	}
	return out
}

func (p portalWallet) Type(code string) (portal.TypeInfo, error) {
	t, err := p.w.Catalogue().Type(code)
	if err != nil {
		return portal.TypeInfo{}, err
	}
	info := portal.TypeInfo{Registry: t.Source != "", Names: t.Names}
	for _, c := range t.Claims {
		info.Claims = append(info.Claims, c.Name)
		if c.Required {
			info.Required = append(info.Required, c.Name)
		}
	}
	return info, nil
}

func holderOf(s portal.Subject) wallet.Holder {
	if s.Kind == portal.SubjectOrganisation {
		return wallet.Holder{Kind: wallet.HolderOrganisation, ID: s.ID}
	}
	return wallet.Holder{Kind: wallet.HolderPerson, ID: s.ID}
}

func (p portalWallet) Holding(ctx context.Context, holder portal.Subject, typeCode string) (portal.Holding, error) {
	h := holderOf(holder)
	d, err := p.w.NewestValid(ctx, h, typeCode)
	if err != nil {
		return portal.Holding{}, err
	}
	det, err := p.w.Document(ctx, h, d.ID)
	if err != nil {
		return portal.Holding{}, err
	}
	return portal.Holding{DocumentID: d.ID, Claims: det.Claims, Agency: d.Agency}, nil
}

// Issue issues a result; claims typed as numbers or booleans in the type
// are converted from the text the portal keeps.
func (p portalWallet) Issue(ctx context.Context, in portal.Issuance) (string, error) {
	t, err := p.w.Catalogue().Type(in.Type)
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if in.Claims != nil {
		claims = map[string]any{}
		for _, c := range t.Claims {
			v, ok := in.Claims[c.Name]
			if !ok {
				continue
			}
			s, isText := v.(string)
			switch {
			case isText && c.Type == wallet.ClaimNumber:
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return "", kernel.E(kernel.Invalid, "wallet.error.claim_bad", c.Name)
				}
				claims[c.Name] = f
			case isText && c.Type == wallet.ClaimBoolean:
				claims[c.Name] = s == "true"
			default:
				claims[c.Name] = v
			}
		}
	}
	d, err := p.w.Issue(ctx, wallet.Issuance{Agency: in.Agency, Type: in.Type, Holder: holderOf(in.Holder), Claims: claims, Record: in.Record})
	if err != nil {
		return "", err
	}
	return d.ID, nil
}

// RenderPDF draws an issued document as the wallet's PDFs are drawn, with
// labels in Vietnamese and lang; Unavailable without a font.
func (p portalWallet) RenderPDF(ctx context.Context, holder portal.Subject, id, lang string) ([]byte, error) {
	if p.font == nil {
		return nil, kernel.E(kernel.Unavailable, "walletpdf.error.off")
	}
	if lang != "en" && lang != "ar" {
		lang = "vi"
	}
	h := holderOf(holder)
	d, err := p.w.Document(ctx, h, id)
	if err != nil {
		return nil, err
	}
	t, err := p.w.Catalogue().Type(d.Type)
	if err != nil {
		return nil, err
	}
	words := map[string]*i18n.Catalog{}
	for _, l := range []string{"vi", lang} {
		if words[l] == nil {
			if words[l], err = i18n.LoadLanguage(l); err != nil {
				return nil, kernel.Wrap(err, "app: portal result")
			}
		}
	}
	return wallet.RenderPDF(p.font, wallet.Rendering{Type: t, Document: d.Document, Claims: d.Claims, AgencyName: d.Agency, Holder: holder.ID,
		Lang: lang, VerifyURL: strings.TrimSuffix(p.issuer, "/") + "/verify",
		T: func(l, key string, args ...any) string { return words[l].T(l, key, args...) }})
}

func (p portalWallet) Credential(ctx context.Context, holder portal.Subject, id string) (string, error) {
	d, err := p.w.Document(ctx, holderOf(holder), id)
	if err != nil {
		return "", err
	}
	return d.Credential, nil
}

// portalSigner signs for the portal through remote signing: the
// applicant's declaration with their own credential, the result PDF with
// the official's credential at the agency, then sealed by the agency.
type portalSigner struct {
	s      *signing.Service
	ca     *pki.Service
	sealer walletPDFSealer
}

// portalClient names the portal as the application asking for signatures.
const portalClient = "civitas.portal"

func (p portalSigner) credential(ctx context.Context, accountID, agency string) (signing.Credential, error) {
	creds, err := p.s.Credentials(ctx, accountID)
	if err != nil {
		return signing.Credential{}, err
	}
	for _, c := range creds {
		if c.Status == signing.CredentialActive && c.Capacity.AgencyCode == agency {
			return c, nil
		}
	}
	if agency != "" {
		return signing.Credential{}, kernel.E(kernel.Forbidden, "portal.error.no_official_credential")
	}
	return signing.Credential{}, kernel.E(kernel.Forbidden, "portal.error.no_credential")
}

func (p portalSigner) SignDeclaration(ctx context.Context, accountID, code, label string, digest []byte) (portal.Signature, error) {
	c, err := p.credential(ctx, accountID, "")
	if err != nil {
		return portal.Signature{}, err
	}
	req, err := p.s.Submit(ctx, signing.Submission{AccountID: accountID, CredentialID: c.ID, Client: portalClient,
		Description: "Ký tờ khai thủ tục hành chính / Sign an application's declaration", Items: []signing.Item{{Label: label, Hash: digest}}})
	if err != nil {
		return portal.Signature{}, err
	}
	if err := p.s.ApproveAndSign(ctx, accountID, req.ID, code); err != nil {
		return portal.Signature{}, err
	}
	_, items, err := p.s.Results(ctx, portalClient, req.ID)
	if err != nil {
		return portal.Signature{}, err
	}
	if len(items) != 1 || len(items[0].Signature) == 0 {
		return portal.Signature{}, kernel.E(kernel.Conflict, "signing.error.not_pending")
	}
	sn, _ := new(big.Int).SetString(c.Serial, 16)
	chain, err := p.ca.Chain(ctx, sn)
	if err != nil {
		return portal.Signature{}, err
	}
	return portal.Signature{Value: items[0].Signature, Certificate: chain[0].Raw, CredentialID: c.ID}, nil
}

func (p portalSigner) CanSignResult(ctx context.Context, accountID, agency string) error {
	_, err := p.credential(ctx, accountID, agency)
	return err
}

func (p portalSigner) SignResult(ctx context.Context, accountID, agency, code, name string, doc []byte) ([]byte, error) {
	c, err := p.credential(ctx, accountID, agency)
	if err != nil {
		return nil, err
	}
	req, err := p.s.SubmitPDFs(ctx, signing.PDFSubmission{AccountID: accountID, CredentialID: c.ID, Client: portalClient,
		Description: "Ký kết quả giải quyết thủ tục hành chính / Sign the result of an application",
		Documents:   []signing.PDFDocument{{Name: name, Data: doc}}})
	if err != nil {
		return nil, err
	}
	if err := p.s.ApproveAndSign(ctx, accountID, req.ID, code); err != nil {
		return nil, err
	}
	sad, _, err := p.s.HandOff(ctx, portalClient, accountID, req.ID)
	if err != nil {
		return nil, err
	}
	if sad == "" {
		return nil, kernel.E(kernel.Conflict, "signing.error.not_pending")
	}
	signed, err := p.s.SignDocuments(ctx, signing.DocumentSigning{Client: portalClient, AccountID: accountID, CredentialID: c.ID, SAD: sad,
		Documents: []signing.DocumentRef{{ID: signing.DocumentID(req.ID, 0)}}})
	if err != nil {
		return nil, err
	}
	// The agency's seal over the official's signature.
	return p.sealer.SealPDF(ctx, agency, signed[0])
}

// portalAccounts gives the portal the e-ID.
type portalAccounts struct{ id *identity.Service }

func (a portalAccounts) account(acct identity.Account) portal.Account {
	return portal.Account{ID: acct.ID, CitizenID: acct.CitizenID, Level: acct.Level, Active: acct.Status == identity.StatusActive}
}

func (a portalAccounts) Account(ctx context.Context, id string) (portal.Account, error) {
	acct, err := a.id.Account(ctx, id)
	if err != nil {
		return portal.Account{}, err
	}
	return a.account(acct), nil
}

func (a portalAccounts) AccountOf(ctx context.Context, citizenID string) (portal.Account, error) {
	acct, err := a.id.AccountByCitizen(ctx, citizenID)
	if err != nil {
		return portal.Account{}, err
	}
	return a.account(acct), nil
}

func (a portalAccounts) Dependents(ctx context.Context, accountID string) ([]portal.Dependent, error) {
	deps, err := a.id.Dependents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]portal.Dependent, len(deps))
	for i, d := range deps {
		out[i] = portal.Dependent{CitizenID: d.Person.CitizenID, Name: d.Person.FullName}
	}
	return out, nil
}

func (a portalAccounts) Organisations(ctx context.Context, accountID string) ([]portal.Membership, error) {
	orgs, err := a.id.Organisations(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]portal.Membership, len(orgs))
	for i, o := range orgs {
		out[i] = portal.Membership{RegNumber: o.RegNumber, Name: o.Name}
	}
	return out, nil
}

func (a portalAccounts) Posts(ctx context.Context, accountID string) ([]portal.Post, error) {
	posts, err := a.id.Posts(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]portal.Post, len(posts))
	for i, p := range posts {
		out[i] = portal.Post{Agency: p.Agency, Role: p.Role}
	}
	return out, nil
}

func (a portalAccounts) AddDependent(ctx context.Context, accountID, child string) error {
	return a.id.AddDependent(ctx, accountID, child)
}

// portalNotifier tells applicants through notify, in the change's transaction.
type portalNotifier struct{ n *notify.Service }

func (p portalNotifier) Notify(ctx context.Context, tx *db.Tx, n portal.Notice) error {
	return p.n.Queue(ctx, tx, notify.Message{Kind: notify.KindNotice, AccountID: n.AccountID, Template: n.Template, Args: n.Args})
}

// portalTokens verifies the access tokens of citizens' apps calling the
// portal's API: tokens of the civitas OpenID Provider.
type portalTokens struct{ op *oidc.Provider }

var _ portal.Tokens = portalTokens{}

func (t portalTokens) Verify(r *http.Request) (portal.Token, error) {
	ti, err := t.op.VerifyAccessToken(r)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Internal && !oidc.IsOAuthError(err) {
			return portal.Token{}, err
		}
		return portal.Token{}, kernel.E(kernel.Unauthenticated, "portal.error.token").WithCause(err)
	}
	return portal.Token{AccountID: ti.AccountID, ClientID: ti.ClientID, Scopes: ti.Scopes, ACR: ti.ACR}, nil
}

// portalScope is the scope a citizen's app asks for to apply for
// procedures on their behalf.
func portalScope() oidc.Scope {
	return oidc.Scope{Name: portal.Scope, Consent: map[string]string{
		"vi": "Nộp và theo dõi hồ sơ thủ tục hành chính thay bạn",
		"en": "Submit and follow applications for public services on your behalf",
		"ar": "تقديم طلبات الخدمات العامة ومتابعتها نيابة عنك",
	}}
}
