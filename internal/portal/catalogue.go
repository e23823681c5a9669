package portal

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"civitas/internal/registry"
)

// Input sources.
const (
	SourceForm   = "form"
	SourceUpload = "upload"
	prefixReg    = "registry:"
	prefixWallet = "wallet:"
)

// PartySubject is the person (or organisation) an application is for: the
// applicant, or the dependant a guardian applies for.
const PartySubject = "subject"

// Input is one item a procedure needs. Its source says where it comes
// from: "registry:SERVICE" (read through the data exchange for the party),
// "wallet:TYPE" (a document in the party's wallet), "form" (typed by the
// applicant) or "upload" (a file, only for what the state does not hold).
type Input struct {
	Name     string            `json:"name"`
	Source   string            `json:"source"`
	Party    string            `json:"party,omitempty"`    // whose: "subject" (default) or a party named by a form input citizen_id
	Required bool              `json:"required,omitempty"` // the application cannot be submitted without it
	Type     string            `json:"type,omitempty"`     // form: text, date, number, citizen_id, select, textarea, boolean
	Options  []Option          `json:"options,omitempty"`  // form select
	Labels   map[string]string `json:"labels,omitempty"`   // by language; default: the vocabulary's label of the name
}

// Option is a choice of a select input.
type Option struct {
	Value string            `json:"value"`
	Names map[string]string `json:"names"`
}

// Key is where the input's value lives in an application's data: its name
// for the subject, "party.name" for another party.
func (in Input) Key() string {
	if in.Party == "" || in.Party == PartySubject {
		return in.Name
	}
	return in.Party + "." + in.Name
}

// RegistryService is the service of a registry input, or "".
func (in Input) RegistryService() string {
	s, _ := strings.CutPrefix(in.Source, prefixReg)
	if s == in.Source {
		return ""
	}
	return s
}

// WalletType is the document type of a wallet input, or "".
func (in Input) WalletType() string {
	s, _ := strings.CutPrefix(in.Source, prefixWallet)
	if s == in.Source {
		return ""
	}
	return s
}

// StateHeld reports whether the state holds the input's data (a registry
// or the wallet): never asked of the applicant as paper.
func (in Input) StateHeld() bool { return in.RegistryService() != "" || in.WalletType() != "" }

// PartyOf is the input's party, "subject" when unset.
func (in Input) PartyOf() string {
	if in.Party == "" {
		return PartySubject
	}
	return in.Party
}

// Agency says which agency handles a procedure or a part: a kind, at the
// level of the unit it is seated in (commune, district, province), the
// one serving the subject's commune.
type Agency struct {
	Kind  registry.AgencyKind `json:"kind"`
	Level registry.Level      `json:"level"`
}

// Step is a step of the work and the role that does it.
type Step struct {
	Code string        `json:"code"` // receive, check, decide, sign, hand_over, ...
	Role registry.Role `json:"role"`
}

// Exemption is a case where the fee is not charged.
type Exemption struct {
	Code  string            `json:"code"`
	Names map[string]string `json:"names"`
	// When the subject is younger than UnderAge years (on the day of
	// submission), or the input Input holds Equals.
	UnderAge int    `json:"under_age,omitempty"`
	Input    string `json:"input,omitempty"`
	Equals   string `json:"equals,omitempty"`
}

// Result holders: whose wallet the result goes to.
const (
	HolderSubject     = "subject"     // the person the application is for
	HolderBeneficiary = "beneficiary" // a person the decision created (the child of a birth registration)
	HolderApplicant   = "applicant"
)

// Part is one agency's share of a procedure. A simple procedure is one
// part; an integrated procedure (thủ tục liên thông) has several, each
// routed to its agency, some after others.
type Part struct {
	Code   string            `json:"code"`
	Names  map[string]string `json:"names,omitempty"`
	Agency Agency            `json:"agency"`
	Steps  []Step            `json:"steps"`
	After  []string          `json:"after,omitempty"`  // parts that must be approved first
	Effect string            `json:"effect,omitempty"` // the registry change an approval makes (effects.go)
	Result string            `json:"result,omitempty"` // the wallet type issued; "" for none
	// ResultHolder is whose wallet the result goes to: the subject, the
	// beneficiary, the applicant or a party of the inputs.
	ResultHolder string `json:"result_holder,omitempty"`
	// Party is whose record the part is about: the person the effect
	// changes and whose data fills the result (default: the holder's).
	Party string `json:"party,omitempty"`
	// ResultRecord names the data key choosing the registry record a
	// result from a registry is made of (a vehicle's plate).
	ResultRecord string `json:"result_record,omitempty"`
	// ResultClaims fill claims of the result from data keys or the
	// decision's outputs ("a|b": the first that has a value); a claim not
	// named is filled by its own name.
	ResultClaims map[string]string `json:"result_claims,omitempty"`
	// DecisionFields are what the deciding official types (a criminal
	// record's text, the plate given to a vehicle).
	DecisionFields []Input `json:"decision_fields,omitempty"`
}

// DecideRoles are the roles that may decide the part.
func (p Part) DecideRoles() []registry.Role {
	var out []registry.Role
	for _, s := range p.Steps {
		if (s.Code == "decide" || s.Code == "sign") && !slices.Contains(out, s.Role) {
			out = append(out, s.Role)
		}
	}
	return out
}

// Roles are every role of the part's steps: who may receive and work on it.
func (p Part) Roles() []registry.Role {
	var out []registry.Role
	for _, s := range p.Steps {
		if !slices.Contains(out, s.Role) {
			out = append(out, s.Role)
		}
	}
	return out
}

// Procedure is an administrative procedure of the catalogue.
type Procedure struct {
	Code       string            `json:"code"`
	Names      map[string]string `json:"names"`
	Name       string            `json:"name,omitempty"` // a single name: what `procedures list` prints
	Agency     Agency            `json:"agency"`
	LegalBasis string            `json:"legal_basis,omitempty"`
	Fee        int64             `json:"fee"` // VND
	Exemptions []Exemption       `json:"fee_exemptions,omitempty"`
	SLADays    int               `json:"sla_days"`
	// Online is "full" (submitted, paid and received online) or "partial"
	// (the result is collected at the counter).
	Online     string   `json:"online,omitempty"`
	Integrated bool     `json:"integrated"`
	Signature  bool     `json:"signature,omitempty"` // the applicant signs the declaration (level 2)
	For        []string `json:"for,omitempty"`       // who may be the subject: self, dependant, organisation
	Inputs     []Input  `json:"inputs"`
	Steps      []Step   `json:"steps,omitempty"`
	// Effect to DecisionFields as Part's, for a procedure of one part.
	Effect         string            `json:"effect,omitempty"`
	Result         string            `json:"result,omitempty"`
	ResultHolder   string            `json:"result_holder,omitempty"`
	Party          string            `json:"party,omitempty"`
	ResultRecord   string            `json:"result_record,omitempty"`
	ResultClaims   map[string]string `json:"result_claims,omitempty"`
	DecisionFields []Input           `json:"decision_fields,omitempty"`
	Parts          []Part            `json:"parts,omitempty"`
}

// NameIn is the procedure's name in lang, Vietnamese when it has none.
func (p Procedure) NameIn(lang string) string {
	if n := p.Names[lang]; n != "" {
		return n
	}
	if n := p.Names["vi"]; n != "" {
		return n
	}
	return cmpOr(p.Name, p.Code)
}

// AllParts are the procedure's parts: its Parts, or the one part a simple
// procedure is.
func (p Procedure) AllParts() []Part {
	if len(p.Parts) > 0 {
		return p.Parts
	}
	return []Part{{Code: p.Code, Names: p.Names, Agency: p.Agency, Steps: p.Steps, Effect: p.Effect, Result: p.Result,
		ResultHolder: p.ResultHolder, Party: p.Party, ResultRecord: p.ResultRecord, ResultClaims: p.ResultClaims, DecisionFields: p.DecisionFields}}
}

// Part returns the part with that code.
func (p Procedure) Part(code string) (Part, bool) {
	for _, pt := range p.AllParts() {
		if pt.Code == code {
			return pt, true
		}
	}
	return Part{}, false
}

// Input returns the input with that key.
func (p Procedure) Input(key string) (Input, bool) {
	for _, in := range p.Inputs {
		if in.Key() == key {
			return in, true
		}
	}
	return Input{}, false
}

// Paperless reports whether the procedure asks for no upload.
func (p Procedure) Paperless() bool {
	for _, in := range p.Inputs {
		if in.Source == SourceUpload {
			return false
		}
	}
	return true
}

// Parties lists the parties other than the subject the inputs name.
func (p Procedure) Parties() []string {
	var out []string
	for _, in := range p.Inputs {
		if pt := in.PartyOf(); pt != PartySubject && !slices.Contains(out, pt) {
			out = append(out, pt)
		}
	}
	return out
}

// MayBeFor reports whether the subject may be of that kind: self,
// dependant or organisation (default: self and dependant).
func (p Procedure) MayBeFor(kind string) bool {
	if len(p.For) == 0 {
		return kind == "self" || kind == "dependant"
	}
	return slices.Contains(p.For, kind)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

//go:embed procedures/*.json
var shipped embed.FS

// Catalogue is the set of procedures, by code. Read-only once loaded.
type Catalogue struct {
	procs map[string]Procedure
	codes []string
}

// Procedure returns the procedure with that code.
func (c *Catalogue) Procedure(code string) (Procedure, bool) {
	p, ok := c.procs[code]
	return p, ok
}

// Procedures lists the procedures by code.
func (c *Catalogue) Procedures() []Procedure {
	out := make([]Procedure, len(c.codes))
	for i, code := range c.codes {
		out[i] = c.procs[code]
	}
	return out
}

// CatalogueOptions say what a catalogue is checked against.
type CatalogueOptions struct {
	// WalletTypes are the wallet's document type codes; nil skips checking
	// wallet inputs and results against them.
	WalletTypes []string
}

// ShippedCatalogue is the catalogue built into civitas.
func ShippedCatalogue(o CatalogueOptions) (*Catalogue, error) { return LoadCatalogue("", o) }

// LoadCatalogue reads the shipped procedures, then every *.json in dir (if
// it exists): a file with a shipped procedure's code replaces it, a new
// code adds a procedure. Every procedure is checked (Validate); the first
// problem stops the load, naming the file.
func LoadCatalogue(dir string, o CatalogueOptions) (*Catalogue, error) {
	c := &Catalogue{procs: map[string]Procedure{}}
	sub, _ := fs.Sub(shipped, "procedures")
	if err := c.addFS(sub, false); err != nil {
		return nil, err
	}
	if dir != "" {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			if err := c.addFS(os.DirFS(dir), true); err != nil {
				return nil, err
			}
		}
	}
	held := c.stateHeldNames()
	for _, code := range c.codes {
		if probs := Validate(c.procs[code], ValidateOptions{WalletTypes: o.WalletTypes, Full: true, StateHeld: held}); len(probs) > 0 {
			return nil, fmt.Errorf("portal: procedure %s: %s", code, probs[0])
		}
	}
	return c, nil
}

func (c *Catalogue) addFS(fsys fs.FS, replace bool) error {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("portal: procedure %s: %w", name, err)
		}
		p, err := ParseProcedure(b)
		if err != nil {
			return fmt.Errorf("portal: procedure %s: %w", name, err)
		}
		if want := strings.TrimSuffix(filepath.Base(name), ".json"); p.Code != want {
			return fmt.Errorf("portal: procedure %s: code %q must match the file name", name, p.Code)
		}
		if seen[p.Code] || (!replace && c.procs[p.Code].Code != "") {
			return fmt.Errorf("portal: procedure %s: code %q twice", name, p.Code)
		}
		seen[p.Code] = true
		if _, had := c.procs[p.Code]; !had {
			c.codes = append(c.codes, p.Code)
		}
		c.procs[p.Code] = p
	}
	slices.Sort(c.codes)
	return nil
}

// MaxDefinition bounds a procedure definition, in bytes.
const MaxDefinition = 256 << 10

// ParseProcedure reads one procedure definition (JSON, unknown members
// refused).
func ParseProcedure(b []byte) (Procedure, error) {
	if len(b) > MaxDefinition {
		return Procedure{}, fmt.Errorf("larger than %d KiB", MaxDefinition>>10)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Procedure
	if err := dec.Decode(&p); err != nil {
		return Procedure{}, err
	}
	if dec.More() {
		return Procedure{}, fmt.Errorf("more than one JSON value")
	}
	return p, nil
}

// stateHeldNames maps the name of every registry and wallet input of the
// catalogue to its source: an upload by that name anywhere is paper the
// state holds.
func (c *Catalogue) stateHeldNames() map[string]string {
	out := map[string]string{}
	for _, code := range c.codes {
		for _, in := range c.procs[code].Inputs {
			if in.StateHeld() {
				if _, ok := out[in.Name]; !ok {
					out[in.Name] = in.Source
				}
			}
		}
	}
	return out
}

// Problem is one thing wrong with a procedure definition.
type Problem struct {
	Procedure string
	Input     string // the input concerned, or ""
	Message   string
}

func (p Problem) String() string {
	s := cmpOr(p.Procedure, "(no code)") + ": "
	if p.Input != "" {
		s += "input " + strconvQuote(p.Input) + ": "
	}
	return s + p.Message
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// ValidateOptions say how strictly to check a definition.
type ValidateOptions struct {
	WalletTypes []string
	// Full asks for everything a procedure of the catalogue needs (names in
	// every language, an agency, steps); without it, a definition of the
	// fixed contract (code, name, fee, sla_days, integrated, inputs) is
	// enough and the rest is checked where present.
	Full bool
	// StateHeld maps input names the catalogue reads from registries or
	// wallets to their source (Catalogue.stateHeldNames).
	StateHeld map[string]string
}

var (
	codeRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	langs   = []string{"vi", "en", "ar"}
	formTyp = []string{"", "text", "date", "number", "citizen_id", "select", "textarea", "boolean"}
)

// Validate lists what is wrong with a procedure definition; none means it
// is valid. The no-paper rule: an upload may not be named as a registry
// field, a wallet document type, or any registry or wallet input of the
// catalogue — the line names where the state holds it.
func Validate(p Procedure, o ValidateOptions) []Problem {
	var probs []Problem
	add := func(input, format string, args ...any) {
		probs = append(probs, Problem{Procedure: p.Code, Input: input, Message: fmt.Sprintf(format, args...)})
	}
	if !codeRE.MatchString(p.Code) {
		add("", "code must be 2 to 64 lower-case letters, digits and underscores, starting with a letter")
	}
	if o.Full {
		for _, l := range langs {
			if strings.TrimSpace(p.Names[l]) == "" {
				add("", "names.%s is missing", l)
			}
		}
	} else if strings.TrimSpace(p.Name) == "" && strings.TrimSpace(p.Names["vi"]) == "" {
		add("", "name (or names.vi) is missing")
	}
	if p.Fee < 0 || p.Fee > 1_000_000_000 {
		add("", "fee must be 0 to 1,000,000,000 VND")
	}
	if p.SLADays < 0 || p.SLADays > 365 {
		add("", "sla_days must be 0 to 365 working days")
	}
	if p.Online != "" && p.Online != "full" && p.Online != "partial" {
		add("", "online must be full or partial")
	}
	for _, f := range p.For {
		if f != "self" && f != "dependant" && f != "organisation" {
			add("", "for: %q is not self, dependant or organisation", f)
		}
	}
	if len(p.Inputs) == 0 {
		add("", "inputs are missing")
	}
	walletTypes := o.WalletTypes
	regFields := registryFieldSources()
	seen := map[string]bool{}
	parties := map[string]bool{PartySubject: true}
	for _, in := range p.Inputs {
		if in.Source == SourceForm && in.Name == "citizen_id" && in.PartyOf() != PartySubject {
			parties[in.PartyOf()] = true
		}
	}
	for _, in := range p.Inputs {
		if !nameRE.MatchString(in.Name) {
			add(in.Name, "name must be lower-case letters, digits and underscores")
			continue
		}
		if in.Party != "" && !nameRE.MatchString(in.Party) {
			add(in.Name, "party must be lower-case letters, digits and underscores")
		}
		if seen[in.Key()] {
			add(in.Name, "given twice")
		}
		seen[in.Key()] = true
		if !parties[in.PartyOf()] && in.StateHeld() {
			// A party without a citizen ID (a child not born yet in the
			// registers) has form inputs only: nothing can be read about it.
			add(in.Name, "party %q is named by no form input citizen_id of that party", in.PartyOf())
		}
		switch {
		case in.RegistryService() != "":
			svc, ok := registryService(in.RegistryService())
			if !ok {
				add(in.Name, "no registry service %q", in.RegistryService())
			} else if !slices.Contains(svc.Fields, in.Name) {
				add(in.Name, "registry service %s has no field of that name (it has %s)", svc.Code, strings.Join(svc.Fields, ", "))
			}
		case in.WalletType() != "":
			if in.Name != in.WalletType() {
				add(in.Name, "a wallet input is named by its document type (%s)", in.WalletType())
			}
			if walletTypes != nil && !slices.Contains(walletTypes, in.WalletType()) {
				add(in.Name, "no wallet document type %q", in.WalletType())
			}
		case in.Source == SourceForm:
			if !slices.Contains(formTyp, in.Type) {
				add(in.Name, "type %q is not one of text, date, number, citizen_id, select, textarea, boolean", in.Type)
			}
			if in.Type == "select" && len(in.Options) == 0 {
				add(in.Name, "a select needs options")
			}
		case in.Source == SourceUpload:
			if src, ok := regFields[in.Name]; ok {
				add(in.Name, "an upload of data the state holds: the registry field %s is read from %s", in.Name, src)
			} else if walletTypes != nil && slices.Contains(walletTypes, in.Name) || knownWalletType(in.Name) {
				add(in.Name, "an upload of data the state holds: the document is in the wallet as wallet:%s", in.Name)
			} else if src, ok := o.StateHeld[in.Name]; ok {
				add(in.Name, "an upload of data the state holds: the catalogue reads %s from %s", in.Name, src)
			}
		default:
			add(in.Name, "source must be registry:SERVICE, wallet:TYPE, form or upload")
		}
		if in.Source != SourceForm && (in.Type != "" || len(in.Options) > 0) {
			add(in.Name, "type and options are for form inputs")
		}
		if o.Full {
			for _, opt := range in.Options {
				for _, l := range langs {
					if opt.Names[l] == "" {
						add(in.Name, "option %q has no name in %s", opt.Value, l)
					}
				}
			}
		}
	}
	if (o.Full || len(p.Parts) > 0) && p.Integrated != (len(p.Parts) > 1) {
		if p.Integrated {
			add("", "an integrated procedure has two parts or more")
		} else if len(p.Parts) > 1 {
			add("", "a procedure of several parts is integrated: set integrated to true")
		}
	}
	if o.Full || len(p.Parts) > 0 || p.Agency.Kind != "" || len(p.Steps) > 0 {
		probs = append(probs, validateParts(p, o, walletTypes)...)
	}
	for _, e := range p.Exemptions {
		if !nameRE.MatchString(e.Code) {
			add("", "fee exemption code %q is not lower-case letters, digits and underscores", e.Code)
		}
		if e.UnderAge == 0 && e.Input == "" {
			add("", "fee exemption %s needs under_age or input", e.Code)
		}
		if e.Input != "" {
			if _, ok := p.Input(e.Input); !ok {
				add("", "fee exemption %s names no input %q", e.Code, e.Input)
			}
		}
		if o.Full {
			for _, l := range langs {
				if e.Names[l] == "" {
					add("", "fee exemption %s has no name in %s", e.Code, l)
				}
			}
		}
	}
	return probs
}

// knownWalletType reports whether code is a document type the wallet
// ships, for checks made without the wallet's catalogue (a definition
// checked on its own still may not ask for one as an upload).
func knownWalletType(code string) bool { return slices.Contains(shippedWalletTypes, code) }

// shippedWalletTypes are the document types civitas's wallet ships.
var shippedWalletTypes = []string{"birth_certificate", "business_registration", "citizen_id_card", "construction_permit", "criminal_record",
	"death_certificate", "driving_licence", "funeral_allowance_decision", "health_insurance_card", "household_business_registration",
	"land_use_certificate", "marital_status", "marriage_certificate", "permanent_residence", "residence_confirmation", "seal_registration",
	"social_allowance_decision", "temporary_residence", "vehicle_registration"}

var levels = []registry.Level{registry.Commune, registry.District, registry.Province}

func validateParts(p Procedure, o ValidateOptions, walletTypes []string) []Problem {
	var probs []Problem
	add := func(format string, args ...any) {
		probs = append(probs, Problem{Procedure: p.Code, Message: fmt.Sprintf(format, args...)})
	}
	parts := p.AllParts()
	codes := map[string]bool{}
	for _, pt := range parts {
		where := "part " + pt.Code + ": "
		if len(p.Parts) == 0 {
			where = ""
		}
		if !nameRE.MatchString(pt.Code) || codes[pt.Code] {
			add("%spart code must be unique lower-case letters, digits and underscores", where)
		}
		codes[pt.Code] = true
		if !slices.Contains(registry.AgencyKinds(), pt.Agency.Kind) {
			add("%sagency.kind %q is not an agency kind", where, pt.Agency.Kind)
		}
		if !slices.Contains(levels, pt.Agency.Level) {
			add("%sagency.level must be commune, district or province", where)
		}
		if len(pt.DecideRoles()) == 0 {
			add("%ssteps need a decide (or sign) step and its role", where)
		}
		for _, s := range pt.Steps {
			if !nameRE.MatchString(s.Code) || registry.Role(s.Role).Title() == "" {
				add("%sstep %q: role %q is not a role of the registry of officials", where, s.Code, s.Role)
			}
		}
		if pt.Effect != "" && !knownEffect(pt.Effect) {
			add("%seffect %q is not one of %s", where, pt.Effect, strings.Join(effectNames(), ", "))
		}
		if pt.Result != "" && walletTypes != nil && !slices.Contains(walletTypes, pt.Result) {
			add("%sresult %q is not a wallet document type", where, pt.Result)
		}
		if h := pt.ResultHolder; h != "" && h != HolderSubject && h != HolderBeneficiary && h != HolderApplicant && !partyNamed(p, h) {
			add("%sresult_holder must be subject, beneficiary, applicant or a party of the inputs", where)
		}
		if pt.Party != "" && pt.Party != PartySubject && !partyNamed(p, pt.Party) {
			add("%sparty %q is named by no form input citizen_id of that party", where, pt.Party)
		}
		for _, f := range pt.DecisionFields {
			if !nameRE.MatchString(f.Name) || f.Source != SourceForm || !slices.Contains(formTyp, f.Type) {
				add("%sdecision field %q must be a form input with a name and a form type", where, f.Name)
			}
		}
		for claim, expr := range pt.ResultClaims {
			if !nameRE.MatchString(claim) || expr == "" {
				add("%sresult_claims: %q must name a claim and where its value comes from", where, claim)
			}
		}
		if pt.ResultHolder == HolderBeneficiary && !slices.Contains(effectsMakingBeneficiary, pt.Effect) && !beneficiaryBefore(p, pt) {
			add("%sresult_holder beneficiary needs an effect that registers a person, here or in a part before", where)
		}
		if o.Full && len(p.Parts) > 0 {
			for _, l := range langs {
				if pt.Names[l] == "" {
					add("%snames.%s is missing", where, l)
				}
			}
		}
	}
	for _, pt := range parts {
		for _, a := range pt.After {
			if !codes[a] || a == pt.Code {
				add("part %s: after names no other part %q", pt.Code, a)
			}
		}
	}
	if cyclic(parts) {
		add("the parts' after lists make a cycle")
	}
	return probs
}

// partyNamed reports whether a form input citizen_id names the party.
func partyNamed(p Procedure, party string) bool {
	for _, in := range p.Inputs {
		if in.Source == SourceForm && in.Name == "citizen_id" && in.PartyOf() == party {
			return true
		}
	}
	return false
}

// beneficiaryBefore reports whether a part pt comes after registers the person.
func beneficiaryBefore(p Procedure, pt Part) bool {
	for _, a := range pt.After {
		if b, ok := p.Part(a); ok && (slices.Contains(effectsMakingBeneficiary, b.Effect) || beneficiaryBefore(p, b)) {
			return true
		}
	}
	return false
}

func cyclic(parts []Part) bool {
	state := map[string]int{}
	by := map[string]Part{}
	for _, p := range parts {
		by[p.Code] = p
	}
	var visit func(string) bool
	visit = func(c string) bool {
		switch state[c] {
		case 1:
			return true
		case 2:
			return false
		}
		state[c] = 1
		for _, a := range by[c].After {
			if _, ok := by[a]; ok && visit(a) {
				return true
			}
		}
		state[c] = 2
		return false
	}
	for _, p := range parts {
		if visit(p.Code) {
			return true
		}
	}
	return false
}

// Check validates a definition on its own, as `civitas procedures check`
// does: the members of the fixed contract are required, the rest checked
// where present, and the no-paper rule is held against the shipped
// catalogue (an upload may not be named as any registry or wallet input
// of it). walletTypes are the wallet's document types (nil: the shipped
// ones).
func Check(p Procedure, walletTypes []string) []Problem {
	held := map[string]string{}
	if c, err := ShippedCatalogue(CatalogueOptions{}); err == nil {
		held = c.stateHeldNames()
	}
	if walletTypes == nil {
		walletTypes = shippedWalletTypes
	}
	return Validate(p, ValidateOptions{WalletTypes: walletTypes, StateHeld: held})
}
