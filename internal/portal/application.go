package portal

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Application states, as the applicant sees them.
const (
	StatusDraft         = "draft"
	StatusSubmitted     = "submitted"
	StatusReceived      = "received"
	StatusInfoRequested = "info_requested"
	StatusProcessing    = "processing"
	StatusTransferred   = "transferred"
	StatusApproved      = "approved"
	StatusRefused       = "refused"
	StatusResultIssued  = "result_issued"
	StatusClosed        = "closed"
	StatusWithdrawn     = "withdrawn"
)

// Part states, as each agency works on its part.
const (
	PartWaiting     = "waiting" // for the parts it comes after
	PartQueued      = "queued"  // in the agency's queue, not received yet
	PartTransferred = "transferred"
	PartReceived    = "received"
	PartProcessing  = "processing"
	PartInfo        = "info_requested"
	PartApproved    = "approved" // decided; its result not issued yet
	PartIssued      = "issued"
	PartRefused     = "refused"
	PartCancelled   = "cancelled"
)

// inQueue reports whether a part in status is in its agency's queue.
func inQueue(status string) bool {
	switch status {
	case PartQueued, PartTransferred, PartReceived, PartProcessing, PartInfo, PartApproved:
		return true
	}
	return false
}

func partFinal(status string) bool {
	return status == PartIssued || status == PartRefused || status == PartCancelled
}

// Channels and deliveries.
const (
	ChannelOnline  = "online"
	ChannelCounter = "counter" // submitted at a one-stop desk for the person who came in

	DeliveryWallet  = "wallet"
	DeliveryCounter = "counter"
	DeliveryPost    = "post"
)

// Payment states of an application.
const (
	PayNone     = "none" // no fee, or exempt
	PayDue      = "due"
	PayPending  = "pending"
	PayPaid     = "paid"
	PayCounter  = "counter" // paid in cash at the desk
	PayRefunded = "refunded"
)

// Application is a citizen's application for a procedure.
type Application struct {
	ID               string
	Procedure        string
	ApplicantAccount string // "" for a person without an account, helped at a desk
	ApplicantCitizen string
	Subject          Subject
	SubjectName      string
	Beneficiary      string // a person the decision registered (a newborn)
	Channel          string
	AssistedBy       string // the official who submitted it at a desk
	Status           string
	Unit             string // the subject's commune
	Agency           string // the agency receiving it (the first part's)
	Delivery         string
	DeliveryAddress  string
	Fee              int64
	FeeExempt        string
	PaymentState     string
	PaymentRef       string
	Data             map[string]any
	Declaration      string // the signed declaration, JSON
	Receipt          string // the receipt number
	Paperless        bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
	SubmittedAt      time.Time
	FinishedAt       time.Time
	Due              string // the promised return date, YYYY-MM-DD
	PausedOn         string // waiting for the applicant since
	Apologised       bool
	Overdue          bool
	Requested        []string // the inputs an official asked for
	Reason           string   // why refused
	Version          int

	Parts   []CasePart
	Sources []SourceRead
	Uploads []Upload
	Events  []Event
}

// CasePart is one agency's share of an application.
type CasePart struct {
	ApplicationID string
	Code          string
	Index         int
	Agency        string
	Unit          string
	Status        string
	Due           string
	Assignee      string
	DecidedBy     string
	DecidedAt     time.Time
	Decision      map[string]string
	Outputs       map[string]any
	Reason        string
	DocumentID    string
	DocumentType  string
	Holder        Subject
	HasPDF        bool
}

// SourceRead is a registry's (or the wallet's) answer for an application,
// as received.
type SourceRead struct {
	Party        string
	Source       string // registry:SERVICE or wallet:TYPE
	SubjectID    string
	Provider     string
	ProviderName string
	Receipt      string
	Records      []map[string]any
	Error        string // the message key when it could not be read
	ReadAt       time.Time
}

// Upload is a file the applicant gave.
type Upload struct {
	ID          string
	Input       string
	Name        string
	ContentType string
	Size        int64
	SHA256      string
	CreatedAt   time.Time
}

// Event is a step of the application's history.
type Event struct {
	Seq       int
	At        time.Time
	ActorKind string
	ActorID   string
	Kind      string
	Part      string
	Details   map[string]any
}

// Flag is an applicant's report that a registry holds something wrong.
type Flag struct {
	ID            string
	ApplicationID string
	Source        string
	Field         string
	Provider      string
	Note          string
	Status        string
	CreatedAt     time.Time
}

type outcome struct {
	app, unit, procedure, channel, outcome string
	paperless, onTime                      bool
	submitted, finished                    string
	days                                   int
}

// Open reports whether the application is submitted and not finished.
func (a Application) Open() bool {
	switch a.Status {
	case StatusDraft, StatusWithdrawn, StatusRefused, StatusResultIssued, StatusClosed:
		return false
	}
	return true
}

// OverdueOn reports whether the application is past its promised date on day.
func (a Application) OverdueOn(day string) bool {
	return a.Open() && a.Due != "" && a.PausedOn == "" && day > a.Due
}

// Value is the data value at key as text ("" when none).
func (a Application) Value(key string) string { return valueText(lookup(a.Data, key)) }

// lookup finds key in data: "party.name" as stored, or a claim inside a
// wallet input's claims ("driving_licence.classes").
func lookup(data map[string]any, key string) any {
	if v, ok := data[key]; ok {
		return v
	}
	if head, rest, ok := strings.Cut(key, "."); ok {
		if m, ok := data[head].(map[string]any); ok {
			return m[rest]
		}
	}
	return nil
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}

// applicant is the person acting: a citizen's account, or an official
// submitting for someone at a desk.
type applicant struct {
	account  Account
	official bool
	agency   string // the official's agency
}

// actor reads who acts from ctx: a signed-in citizen, or an official (at a
// desk) whose post the context names.
func (s *Service) actor(ctx context.Context) (applicant, error) {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorCitizen && a.Kind != kernel.ActorOfficial || a.ID == "" {
		return applicant{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	acct, err := s.o.Accounts.Account(ctx, a.ID)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && !acct.Active {
		return applicant{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	if err != nil {
		return applicant{}, err
	}
	out := applicant{account: acct}
	if a.Kind == kernel.ActorOfficial {
		agency, ok := strings.CutPrefix(a.OnBehalfOf, "agency:")
		if !ok {
			return applicant{}, kernel.E(kernel.Forbidden, "portal.error.not_official")
		}
		if _, err := s.post(ctx, acct.ID, agency, nil); err != nil {
			return applicant{}, err
		}
		out.official, out.agency = true, agency
	}
	return out, nil
}

// post is the account's post at the agency with one of roles (any role
// when roles is nil); Forbidden otherwise.
func (s *Service) post(ctx context.Context, accountID, agency string, roles []registry.Role) (Post, error) {
	posts, err := s.o.Accounts.Posts(ctx, accountID)
	if err != nil {
		return Post{}, err
	}
	for _, p := range posts {
		if p.Agency.Code == agency && (roles == nil || slices.Contains(roles, p.Role)) {
			return p, nil
		}
	}
	if roles != nil {
		for _, p := range posts {
			if p.Agency.Code == agency {
				return Post{}, kernel.E(kernel.Forbidden, "portal.error.wrong_role")
			}
		}
	}
	return Post{}, kernel.E(kernel.Forbidden, "portal.error.not_official")
}

// StartRequest starts an application.
type StartRequest struct {
	Procedure string
	// For names the subject: "" for the applicant, a dependent child's
	// citizen ID, or "org:" and an organisation's enterprise code.
	For string
	// Citizen is the person who came to the desk, when an official starts
	// an assisted application.
	Citizen string
	Fields  map[string]string
}

// Start makes a draft application and pre-fills it: every registry input
// read through the exchange (the application as its case), every wallet
// input from the subject's wallet. Fields given are saved as Save would.
func (s *Service) Start(ctx context.Context, req StartRequest) (Application, error) {
	who, err := s.actor(ctx)
	if err != nil {
		return Application{}, err
	}
	p, ok := s.o.Catalogue.Procedure(strings.TrimSpace(req.Procedure))
	if !ok {
		return Application{}, kernel.E(kernel.NotFound, "portal.error.no_procedure")
	}
	now := s.o.Clock.Now()
	a := Application{ID: kernel.NewID(), Procedure: p.Code, Channel: ChannelOnline, Status: StatusDraft, Delivery: DeliveryWallet,
		Fee: p.Fee, PaymentState: PayNone, Data: map[string]any{}, Paperless: true, CreatedAt: now, UpdatedAt: now, Version: 1}
	if who.official {
		citizen := strings.TrimSpace(req.Citizen)
		person, err := s.o.Registry.Person(ctx, citizen)
		if err != nil {
			return Application{}, err
		}
		ag, err := s.o.Registry.Agency(ctx, who.agency)
		if err != nil {
			return Application{}, err
		}
		if in, err := s.o.Registry.Within(ctx, person.UnitCode, ag.UnitCode); err != nil {
			return Application{}, err
		} else if !in {
			return Application{}, kernel.E(kernel.Forbidden, "portal.error.outside_area")
		}
		a.Channel, a.AssistedBy, a.ApplicantCitizen = ChannelCounter, who.account.ID, person.CitizenID
		if acct, err := s.o.Accounts.AccountOf(ctx, person.CitizenID); err == nil && acct.Active {
			a.ApplicantAccount = acct.ID
		}
		a.Subject, a.SubjectName, a.Unit = Subject{Kind: SubjectPerson, ID: person.CitizenID}, person.FullName, person.UnitCode
		if req.For != "" {
			return Application{}, kernel.E(kernel.Invalid, "portal.error.assisted_self")
		}
		if !p.MayBeFor("self") {
			return Application{}, kernel.E(kernel.Invalid, "portal.error.wrong_subject")
		}
	} else {
		a.ApplicantAccount, a.ApplicantCitizen = who.account.ID, who.account.CitizenID
		if err := s.chooseSubject(ctx, who.account, p, strings.TrimSpace(req.For), &a); err != nil {
			return Application{}, err
		}
	}
	if a.Fee > 0 {
		a.PaymentState = PayDue
	}
	// The reads happen before the transaction: the exchange writes its own log.
	if err := s.applyFields(p, &a, req.Fields, true); err != nil {
		return Application{}, err
	}
	reads := s.prefill(ctx, p, &a, nil)
	err = s.o.DB.Batch(ctx, now, func(tx *db.Tx) error {
		a.CreatedAt, a.UpdatedAt = tx.Now, tx.Now
		if err := insertApplication(ctx, tx, &a); err != nil {
			return err
		}
		for _, r := range reads {
			if err := upsertSource(ctx, tx, a.ID, r); err != nil {
				return err
			}
		}
		if err := insertEvent(ctx, tx, a.ID, "created", "", map[string]any{"channel": a.Channel}); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.application.start", SubjectType: "application", SubjectID: a.ID,
			Purpose: "administrative_procedure", Details: map[string]any{"procedure": p.Code, "channel": a.Channel, "reads": len(reads)}})
	})
	if err != nil {
		return Application{}, err
	}
	a.Sources = reads
	return a, nil
}

// chooseSubject checks whom a citizen applies for.
func (s *Service) chooseSubject(ctx context.Context, acct Account, p Procedure, forWhom string, a *Application) error {
	switch {
	case forWhom == "" || forWhom == acct.CitizenID:
		if !p.MayBeFor("self") {
			return kernel.E(kernel.Invalid, "portal.error.wrong_subject")
		}
		person, err := s.o.Registry.Person(ctx, acct.CitizenID)
		if err != nil {
			return err
		}
		a.Subject, a.SubjectName, a.Unit = Subject{Kind: SubjectPerson, ID: person.CitizenID}, person.FullName, person.UnitCode
	case strings.HasPrefix(forWhom, "org:"):
		if !p.MayBeFor("organisation") {
			return kernel.E(kernel.Invalid, "portal.error.wrong_subject")
		}
		reg := strings.TrimPrefix(forWhom, "org:")
		orgs, err := s.o.Accounts.Organisations(ctx, acct.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(orgs, func(m Membership) bool { return m.RegNumber == reg }) {
			return kernel.E(kernel.Forbidden, "portal.error.not_yours")
		}
		b, err := s.o.Registry.Business(ctx, reg)
		if err != nil {
			return err
		}
		a.Subject, a.SubjectName, a.Unit = Subject{Kind: SubjectOrganisation, ID: b.RegNumber}, b.Name, b.UnitCode
	default:
		if !p.MayBeFor("dependant") {
			return kernel.E(kernel.Invalid, "portal.error.wrong_subject")
		}
		deps, err := s.o.Accounts.Dependents(ctx, acct.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(deps, func(d Dependent) bool { return d.CitizenID == forWhom }) {
			return kernel.E(kernel.Forbidden, "portal.error.not_yours")
		}
		person, err := s.o.Registry.Person(ctx, forWhom)
		if err != nil {
			return err
		}
		a.Subject, a.SubjectName, a.Unit = Subject{Kind: SubjectPerson, ID: person.CitizenID}, person.FullName, person.UnitCode
	}
	if a.Unit == "" {
		return kernel.E(kernel.Invalid, "portal.error.no_unit")
	}
	return nil
}

// routeTTL is how long a commune's routing to an agency is kept: agencies
// and their seats change by decision, seldom, and a routing is checked
// again at every desk act.
const routeTTL = 10 * time.Minute

type routeKey struct {
	kind    registry.AgencyKind
	level   registry.Level
	commune string
}

type routed struct {
	agency registry.Agency
	until  time.Time
}

// route finds the agency of a kind and level serving a commune.
func (s *Service) route(ctx context.Context, ag Agency, commune string) (registry.Agency, error) {
	k := routeKey{ag.Kind, ag.Level, commune}
	now := s.o.Clock.Now()
	if v, ok := s.routes.Load(k); ok && now.Before(v.(routed).until) {
		return v.(routed).agency, nil
	}
	a, err := s.findRoute(ctx, ag, commune)
	if err == nil {
		s.routes.Store(k, routed{agency: a, until: now.Add(routeTTL)})
	}
	return a, err
}

func (s *Service) findRoute(ctx context.Context, ag Agency, commune string) (registry.Agency, error) {
	unit := commune
	for range 4 {
		u, err := s.o.Registry.Unit(ctx, unit)
		if err != nil {
			return registry.Agency{}, err
		}
		if u.Level == ag.Level || u.ParentCode == "" || ag.Level == "" {
			break
		}
		unit = u.ParentCode
	}
	return s.o.Registry.AgencyServing(ctx, ag.Kind, unit)
}

// partyID is the identifier a party's reads are made for: the subject, or
// the citizen ID a form input of the party holds.
func partyID(a *Application, party string) (Subject, bool) {
	if party == PartySubject {
		return a.Subject, true
	}
	id := a.Value(party + ".citizen_id")
	if id == "" {
		return Subject{}, false
	}
	return Subject{Kind: SubjectPerson, ID: id}, true
}

type readKey struct{ party, source string }

// prefill reads the registry and wallet inputs of the parties (all when
// only is nil) and fills the application's data from the answers.
func (s *Service) prefill(ctx context.Context, p Procedure, a *Application, only []string) []SourceRead {
	var order []readKey
	groups := map[readKey][]Input{}
	for _, in := range p.Inputs {
		if !in.StateHeld() || only != nil && !slices.Contains(only, in.PartyOf()) {
			continue
		}
		k := readKey{in.PartyOf(), in.Source}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], in)
	}
	var out []SourceRead
	for _, k := range order {
		subj, ok := partyID(a, k.party)
		ins := groups[k]
		for _, in := range ins {
			delete(a.Data, in.Key())
		}
		if !ok {
			continue
		}
		r := SourceRead{Party: k.party, Source: k.source, SubjectID: subj.ID, ReadAt: s.o.Clock.Now()}
		if t := ins[0].WalletType(); t != "" {
			if subj.Kind != SubjectPerson && subj.Kind != SubjectOrganisation {
				continue
			}
			h, err := s.o.Wallet.Holding(ctx, subj, t)
			if err != nil {
				r.Error = errorKey(err)
			} else {
				r.Records, r.Provider = []map[string]any{h.Claims}, h.Agency
				a.Data[ins[0].Key()] = h.Claims
			}
			out = append(out, r)
			continue
		}
		ans, err := s.o.Exchange.Query(ctx, Query{Service: ins[0].RegistryService(), Subject: subj, Purpose: "administrative_procedure", CaseRef: a.ID})
		if err != nil {
			r.Error = errorKey(err)
			out = append(out, r)
			continue
		}
		r.Records, r.Receipt, r.Provider, r.ProviderName = ans.Records, ans.Receipt, ans.Provider, ans.ProviderName
		if len(ans.Records) > 0 {
			for _, in := range ins {
				if v := valueText(ans.Records[0][in.Name]); v != "" {
					a.Data[in.Key()] = v
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// errorKey is the catalogue key of an error, for showing a failed read.
func errorKey(err error) string {
	k, _ := kernel.ErrorKey(err)
	return k
}

// applyFields checks and stores form values: only form inputs (state-held
// data is never typed), each by its type. On a draft every form input may
// be set; later only those an official requested.
func (s *Service) applyFields(p Procedure, a *Application, fields map[string]string, draft bool) error {
	for key, v := range fields {
		in, ok := p.Input(key)
		if !ok || in.Source != SourceForm {
			return kernel.E(kernel.Invalid, "portal.error.not_a_field", key)
		}
		if !draft && !slices.Contains(a.Requested, key) {
			return kernel.E(kernel.Forbidden, "portal.error.not_requested", key)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			delete(a.Data, key)
			continue
		}
		if err := checkValue(in, v); err != nil {
			return err
		}
		a.Data[key] = v
	}
	return nil
}

// checkValue checks a typed value against its input's type.
func checkValue(in Input, v string) error {
	bad := kernel.E(kernel.Invalid, "portal.error.bad_field", in.Key())
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f }) {
		return bad
	}
	switch in.Type {
	case "", "text":
		if utf8.RuneCountInString(v) > 300 || strings.ContainsAny(v, "\r\n") {
			return bad
		}
	case "textarea":
		if utf8.RuneCountInString(v) > 4000 {
			return bad
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return bad
		}
	case "number":
		if len(v) > 20 {
			return bad
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return bad
		}
	case "citizen_id":
		if _, err := registry.ParseCitizenID(v); err != nil {
			return bad
		}
	case "boolean":
		if v != "true" && v != "false" {
			return bad
		}
	case "select":
		if !slices.ContainsFunc(in.Options, func(o Option) bool { return o.Value == v }) {
			return bad
		}
	}
	return nil
}

// access says what the actor may do with an application.
type access struct {
	view, edit bool
}

// accessTo checks the actor's rights on an application: its applicant
// (or the official who helped at a desk) edits it; its subject, their
// guardian and the organisation's members view it.
func (s *Service) accessTo(ctx context.Context, who applicant, a *Application) (access, error) {
	if who.official {
		if a.AssistedBy == who.account.ID {
			return access{view: true, edit: true}, nil
		}
		return access{}, errNoApplication()
	}
	acct := who.account
	// The person an official helped at a desk is the applicant too, once
	// they sign in.
	if a.ApplicantAccount == acct.ID || a.AssistedBy != "" && a.ApplicantCitizen == acct.CitizenID {
		return access{view: true, edit: a.AssistedBy == "" || a.Status != StatusDraft}, nil
	}
	switch a.Subject.Kind {
	case SubjectPerson:
		if a.Subject.ID == acct.CitizenID {
			return access{view: true}, nil
		}
		deps, err := s.o.Accounts.Dependents(ctx, acct.ID)
		if err != nil {
			return access{}, err
		}
		for _, d := range deps {
			if d.CitizenID == a.Subject.ID || a.Beneficiary != "" && d.CitizenID == a.Beneficiary {
				return access{view: true}, nil
			}
		}
	case SubjectOrganisation:
		orgs, err := s.o.Accounts.Organisations(ctx, acct.ID)
		if err != nil {
			return access{}, err
		}
		if slices.ContainsFunc(orgs, func(m Membership) bool { return m.RegNumber == a.Subject.ID }) {
			return access{view: true}, nil
		}
	}
	return access{}, errNoApplication()
}

// load reads an application with everything about it.
func load(ctx context.Context, tx *db.Tx, id string) (Application, error) {
	a, err := findApplication(ctx, tx, id)
	if err != nil {
		return a, err
	}
	if a.Parts, err = findParts(ctx, tx, id); err != nil {
		return a, err
	}
	if a.Sources, err = findSources(ctx, tx, id); err != nil {
		return a, err
	}
	if a.Uploads, err = findUploads(ctx, tx, id); err != nil {
		return a, err
	}
	a.Events, err = findEvents(ctx, tx, id)
	return a, err
}

// Application returns an application the actor may see, with its parts,
// sources, uploads and history; anyone else's is NotFound.
func (s *Service) Application(ctx context.Context, id string) (Application, error) {
	a, _, err := s.readable(ctx, id)
	return a, err
}

func (s *Service) readable(ctx context.Context, id string) (Application, access, error) {
	who, err := s.actor(ctx)
	if err != nil {
		return Application{}, access{}, err
	}
	var a Application
	if err := s.o.DB.View(ctx, func(tx *db.Tx) (err error) {
		a, err = load(ctx, tx, id)
		return err
	}); err != nil {
		return Application{}, access{}, err
	}
	acc, err := s.accessTo(ctx, who, &a)
	if err != nil {
		return Application{}, access{}, err
	}
	a.Overdue = a.Overdue || a.OverdueOn(today(s.o.Clock.Now()).String())
	return a, acc, nil
}

// change runs fn on an application the actor may edit, in one
// transaction, and writes it back.
func (s *Service) change(ctx context.Context, id string, fn func(tx *db.Tx, who applicant, p Procedure, a *Application) error) (Application, error) {
	who, err := s.actor(ctx)
	if err != nil {
		return Application{}, err
	}
	var a Application
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		if a, err = load(ctx, tx, id); err != nil {
			return err
		}
		acc, err := s.accessTo(ctx, who, &a)
		if err != nil {
			return err
		}
		if !acc.edit {
			return kernel.E(kernel.Forbidden, "portal.error.not_applicant")
		}
		p, ok := s.o.Catalogue.Procedure(a.Procedure)
		if !ok {
			return kernel.E(kernel.NotFound, "portal.error.no_procedure")
		}
		if err := fn(tx, who, p, &a); err != nil {
			return err
		}
		return updateApplication(ctx, tx, &a)
	})
	return a, err
}

// SaveRequest is the applicant's changes to a draft.
type SaveRequest struct {
	Fields          map[string]string
	Delivery        string // "" keeps it
	DeliveryAddress string
	// Picks choose a record of a list service ("party:registry:SERVICE" →
	// the record's index), as the applicant picks a parcel or a vehicle.
	Picks map[string]int
}

// Save stores a draft's form values, delivery and picks. A party's citizen
// ID that changed is read again from the registries.
func (s *Service) Save(ctx context.Context, id string, req SaveRequest) (Application, error) {
	var reread []string
	var proc Procedure
	a, err := s.change(ctx, id, func(tx *db.Tx, _ applicant, p Procedure, a *Application) error {
		proc = p
		if a.Status != StatusDraft {
			return kernel.E(kernel.Conflict, "portal.error.not_draft")
		}
		before := map[string]string{}
		for _, party := range p.Parties() {
			before[party] = a.Value(party + ".citizen_id")
		}
		if err := s.applyFields(p, a, req.Fields, true); err != nil {
			return err
		}
		for _, party := range p.Parties() {
			if a.Value(party+".citizen_id") != before[party] {
				reread = append(reread, party)
			}
		}
		if err := setDelivery(a, req.Delivery, req.DeliveryAddress); err != nil {
			return err
		}
		return s.applyPicks(p, a, req.Picks)
	})
	if err != nil || len(reread) == 0 {
		return a, err
	}
	return s.reread(ctx, proc, a, reread)
}

// reread reads the parties' registry inputs again and stores them.
func (s *Service) reread(ctx context.Context, p Procedure, a Application, parties []string) (Application, error) {
	reads := s.prefill(ctx, p, &a, parties)
	return s.change(ctx, a.ID, func(tx *db.Tx, _ applicant, _ Procedure, cur *Application) error {
		if cur.Version != a.Version {
			return kernel.E(kernel.Conflict, "portal.error.changed")
		}
		for _, in := range p.Inputs {
			if in.StateHeld() && slices.Contains(parties, in.PartyOf()) {
				if v, ok := a.Data[in.Key()]; ok {
					cur.Data[in.Key()] = v
				} else {
					delete(cur.Data, in.Key())
				}
			}
		}
		for _, party := range parties {
			if _, err := tx.Exec(ctx, `DELETE FROM portal_sources WHERE application_id = ? AND party = ?`, cur.ID, party); err != nil {
				return kernel.Wrap(err, "portal: sources")
			}
		}
		for _, r := range reads {
			if err := upsertSource(ctx, tx, cur.ID, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func setDelivery(a *Application, delivery, address string) error {
	if delivery == "" {
		return nil
	}
	if delivery != DeliveryWallet && delivery != DeliveryCounter && delivery != DeliveryPost {
		return kernel.E(kernel.Invalid, "portal.error.bad_delivery")
	}
	address = strings.TrimSpace(address)
	if delivery == DeliveryPost && (address == "" || utf8.RuneCountInString(address) > 300 || !utf8.ValidString(address)) {
		return kernel.E(kernel.Invalid, "portal.error.bad_address")
	}
	if delivery != DeliveryPost {
		address = ""
	}
	a.Delivery, a.DeliveryAddress = delivery, address
	return nil
}

// applyPicks fills the inputs of a list service from the record picked.
func (s *Service) applyPicks(p Procedure, a *Application, picks map[string]int) error {
	for k, idx := range picks {
		party, source, ok := strings.Cut(k, ":")
		if !ok {
			return kernel.E(kernel.Invalid, "portal.error.bad_pick")
		}
		var read *SourceRead
		for i := range a.Sources {
			if a.Sources[i].Party == party && a.Sources[i].Source == source {
				read = &a.Sources[i]
			}
		}
		if read == nil || idx < 0 || idx >= len(read.Records) {
			return kernel.E(kernel.Invalid, "portal.error.bad_pick")
		}
		for _, in := range p.Inputs {
			if in.PartyOf() == party && in.Source == source {
				if v := valueText(read.Records[idx][in.Name]); v != "" {
					a.Data[in.Key()] = v
				} else {
					delete(a.Data, in.Key())
				}
			}
		}
	}
	return nil
}

// Uploads: PDF, PNG and JPEG only, told by their first bytes, never by the
// name or the type the browser sent.
var uploadTypes = []struct {
	magic, contentType, ext string
}{
	{"%PDF-", "application/pdf", ".pdf"},
	{"\x89PNG\r\n\x1a\n", "image/png", ".png"},
	{"\xff\xd8\xff", "image/jpeg", ".jpg"},
}

// sniffUpload is the content type of an allowed file, or "".
func sniffUpload(b []byte) (string, string) {
	for _, t := range uploadTypes {
		if strings.HasPrefix(string(b[:min(len(b), 16)]), t.magic) {
			return t.contentType, t.ext
		}
	}
	return "", ""
}

// MaxUploads bounds the files of one application.
const MaxUploads = 20

// AddUpload stores a file for an upload input of a draft (or one an
// official requested): at most MaxUpload bytes, a PDF, PNG or JPEG by its
// content. It is kept as given and only ever served as a download.
func (s *Service) AddUpload(ctx context.Context, id, input, name string, content []byte) (Upload, error) {
	if int64(len(content)) > s.o.MaxUpload {
		return Upload{}, kernel.E(kernel.Invalid, "portal.error.upload_too_large", s.o.MaxUpload>>20)
	}
	if len(content) == 0 {
		return Upload{}, kernel.E(kernel.Invalid, "portal.error.upload_empty")
	}
	ctype, ext := sniffUpload(content)
	if ctype == "" {
		return Upload{}, kernel.E(kernel.Invalid, "portal.error.upload_type")
	}
	u := Upload{ID: kernel.NewID()[:16], Input: input, Name: cleanName(name, ext), ContentType: ctype, Size: int64(len(content)), SHA256: sha256Hex(content)}
	_, err := s.change(ctx, id, func(tx *db.Tx, _ applicant, p Procedure, a *Application) error {
		in, ok := p.Input(input)
		if !ok || in.Source != SourceUpload {
			return kernel.E(kernel.Invalid, "portal.error.not_an_upload", input)
		}
		switch {
		case a.Status == StatusDraft:
		case a.Status == StatusInfoRequested && slices.Contains(a.Requested, input):
		default:
			return kernel.E(kernel.Conflict, "portal.error.not_draft")
		}
		if len(a.Uploads) >= MaxUploads {
			return kernel.E(kernel.Invalid, "portal.error.too_many_uploads", MaxUploads)
		}
		u.CreatedAt = tx.Now
		if err := insertUpload(ctx, tx, a.ID, u, content); err != nil {
			return err
		}
		a.Paperless = false
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.upload.add", SubjectType: "application", SubjectID: a.ID,
			Details: map[string]any{"input": input, "size": u.Size, "type": ctype, "sha256": u.SHA256}})
	})
	return u, err
}

// RemoveUpload deletes a file of a draft.
func (s *Service) RemoveUpload(ctx context.Context, id, uploadID string) error {
	_, err := s.change(ctx, id, func(tx *db.Tx, _ applicant, _ Procedure, a *Application) error {
		if a.Status != StatusDraft {
			return kernel.E(kernel.Conflict, "portal.error.not_draft")
		}
		if err := deleteUpload(ctx, tx, a.ID, uploadID); err != nil {
			return err
		}
		a.Paperless = len(a.Uploads) <= 1
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.upload.remove", SubjectType: "application", SubjectID: a.ID,
			Details: map[string]any{"upload": uploadID}})
	})
	return err
}

// UploadContent returns a file of an application to whoever may see the
// application (or an official of an agency it is routed to).
func (s *Service) UploadContent(ctx context.Context, id, uploadID string) (Upload, []byte, error) {
	if _, err := s.viewable(ctx, id); err != nil {
		return Upload{}, nil, err
	}
	var u Upload
	var b []byte
	err := s.o.DB.View(ctx, func(tx *db.Tx) (err error) {
		u, b, err = findUploadContent(ctx, tx, id, uploadID)
		return err
	})
	return u, b, err
}

// viewable checks that the actor may see an application: as Application
// does, or as an official of an agency a part of it is routed to.
func (s *Service) viewable(ctx context.Context, id string) (Application, error) {
	if a := kernel.ActorFrom(ctx); a.Kind == kernel.ActorOfficial {
		if agency, ok := strings.CutPrefix(a.OnBehalfOf, "agency:"); ok {
			if app, err := s.DeskApplication(ctx, agency, id); err == nil {
				return app, nil
			}
		}
	}
	return s.Application(ctx, id)
}

// cleanName makes an uploaded file's name safe to show and to offer back.
func cleanName(name, ext string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`"<>:|?*;`, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	base := strings.TrimSuffix(name, fileExt(name))
	if base == "" || base == "." {
		base = "file"
	}
	return base + ext
}

func fileExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[i:]
	}
	return ""
}

// Flagging: the applicant tells the agency keeping a registry that a value
// it gave is wrong, instead of sending paper.

// MaxNote bounds a note, in characters.
const MaxNote = 1000

// FlagError records that a registry's value for an application is wrong.
func (s *Service) FlagError(ctx context.Context, id, source, field, note string) (Flag, error) {
	note = strings.TrimSpace(note)
	if note == "" || utf8.RuneCountInString(note) > MaxNote || !utf8.ValidString(note) {
		return Flag{}, kernel.E(kernel.Invalid, "portal.error.bad_note")
	}
	var f Flag
	_, err := s.change(ctx, id, func(tx *db.Tx, _ applicant, p Procedure, a *Application) error {
		var read *SourceRead
		for i := range a.Sources {
			if a.Sources[i].Source == source && strings.HasPrefix(source, prefixReg) {
				read = &a.Sources[i]
			}
		}
		if read == nil {
			return kernel.E(kernel.Invalid, "portal.error.bad_source")
		}
		svc, _ := registryService(strings.TrimPrefix(source, prefixReg))
		if field != "" && !slices.Contains(svc.Fields, field) {
			return kernel.E(kernel.Invalid, "portal.error.bad_source")
		}
		provider := read.Provider
		if provider == "" {
			ag, err := s.o.Registry.AgencyServing(ctx, svc.Provider, a.Unit)
			if err != nil {
				return err
			}
			provider = ag.Code
		}
		f = Flag{ID: kernel.NewID(), ApplicationID: a.ID, Source: source, Field: field, Provider: provider, Note: note, Status: "open", CreatedAt: tx.Now}
		if err := insertFlag(ctx, tx, f); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, a.ID, "flag", "", map[string]any{"source": source, "field": field, "provider": provider}); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.flag", SubjectType: "application", SubjectID: a.ID,
			Details: map[string]any{"source": source, "field": field, "provider": provider}})
	})
	return f, err
}

// ListPage is a page of applications.
type ListPage struct {
	Items []Application
	Next  string // the After of the next page, "" at the end
}

// Mine lists the actor's applications — those they made and those about
// their dependants — newest first, a page at a time (After is the last
// item's ID).
func (s *Service) Mine(ctx context.Context, page kernel.Page) (ListPage, error) {
	who, err := s.actor(ctx)
	if err != nil {
		return ListPage{}, err
	}
	page = page.Normalize(20)
	ids := []string{who.account.CitizenID}
	deps, err := s.o.Accounts.Dependents(ctx, who.account.ID)
	if err != nil {
		return ListPage{}, err
	}
	for _, d := range deps {
		ids = append(ids, d.CitizenID)
	}
	var out ListPage
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		var afterAt int64
		if page.After != "" {
			if err := tx.QueryRow(ctx, `SELECT created_at FROM portal_applications WHERE id = ?`, page.After).Scan(&afterAt); err != nil {
				return kernel.E(kernel.Invalid, "error.invalid")
			}
		}
		q := `SELECT ` + applicationColumns + ` FROM portal_applications WHERE (applicant_account = ? OR subject_id IN (?` +
			strings.Repeat(", ?", len(ids)-1) + `) OR beneficiary IN (?` + strings.Repeat(", ?", len(ids)-1) + `))`
		args := []any{who.account.ID}
		for range 2 {
			for _, id := range ids {
				args = append(args, id)
			}
		}
		if page.After != "" {
			q += ` AND (created_at < ? OR created_at = ? AND id < ?)`
			args = append(args, afterAt, afterAt, page.After)
		}
		q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
		args = append(args, page.Limit+1)
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return kernel.Wrap(err, "portal: mine")
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanApplication(rows)
			if err != nil {
				return kernel.Wrap(err, "portal: mine")
			}
			out.Items = append(out.Items, a)
		}
		return rows.Err()
	})
	if len(out.Items) > page.Limit {
		out.Items = out.Items[:page.Limit]
		out.Next = out.Items[page.Limit-1].ID
	}
	day := today(s.o.Clock.Now()).String()
	for i := range out.Items {
		out.Items[i].Overdue = out.Items[i].Overdue || out.Items[i].OverdueOn(day)
	}
	return out, err
}
