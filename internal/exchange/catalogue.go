package exchange

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// The kinds of subject a service answers about, named as the query's
// subject object names them.
const (
	SubjectPerson       = "citizen_id" // a person, by citizen ID
	SubjectOrganisation = "reg_number" // an enterprise, by its code
)

// Field is one member of a service's answer, named as the registry prints
// it (`civitas registry list persons --json`: citizen_id, full_name, ...).
type Field struct {
	Name   string
	Schema map[string]any // JSON Schema of its value
}

// Spec is a service a registry publishes through the exchange. Adding a
// service for a registry is declaring one (services.go).
type Spec struct {
	Code    string // "population.person": the registry, a dot, what it answers
	Version int    // of the answer's schema; a change of fields is a new version
	// Registry is the registry's code in the catalogue of registries
	// (registry.RegistryPopulation, ...): the agency owning it answers and
	// seals the receipts.
	Registry string
	// Provider is the kind of that agency: without a catalogue entry, the
	// agency of this kind at the province level answers.
	Provider registry.AgencyKind
	Subject  string // SubjectPerson or SubjectOrganisation
	// List says the answer is a list of records, as {"items": [...]}; else
	// it is one record. Either way a subject the registry knows but holds
	// nothing of this service about gets {}.
	List   bool
	Fields []Field
	// Fetch reads the registry. The subject has been found already (its
	// Person or Business is set).
	Fetch func(ctx context.Context, reg *registry.Service, subj Subject) (Found, error)
}

// Subject is whom a query asks about, with the registry's entry once found.
type Subject struct {
	Kind     string // SubjectPerson or SubjectOrganisation
	ID       string // the citizen ID or the enterprise code
	Person   registry.Person
	Business registry.Business
}

// Found is what a service's Fetch found in its registry.
type Found struct {
	// Records are the records about the subject: at most one for a
	// single-record service; none when the registry holds nothing.
	Records []map[string]any
	// Related names other persons whose data a field carries (a
	// household's members, an enterprise's legal representative), by the
	// field: when that field is given, the read is in their log too.
	Related map[string][]string
}

// FieldNames returns the names of the service's fields, in order.
func (sp Spec) FieldNames() []string {
	out := make([]string, len(sp.Fields))
	for i, f := range sp.Fields {
		out[i] = f.Name
	}
	return out
}

// HasField reports whether the service answers a field named name.
func (sp Spec) HasField(name string) bool {
	return slices.ContainsFunc(sp.Fields, func(f Field) bool { return f.Name == name })
}

// SchemaName names the schema of the service's answer at its version:
// "population.person.v1".
func (sp Spec) SchemaName() string { return sp.Code + ".v" + strconv.Itoa(sp.Version) }

// TitleKey is the catalogue key of the service's title.
func (sp Spec) TitleKey() string { return "exchange.service." + sp.Code }

// Schema returns the JSON Schema (2020-12) of the service's data.
func (sp Spec) Schema() map[string]any {
	props := map[string]any{}
	for _, f := range sp.Fields {
		props[f.Name] = f.Schema
	}
	record := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if !sp.List {
		record["title"] = sp.SchemaName()
		return record
	}
	return map[string]any{"title": sp.SchemaName(), "type": "object", "additionalProperties": false,
		"properties": map[string]any{"items": map[string]any{"type": "array", "items": record}}}
}

var (
	codeRE  = regexp.MustCompile(`^[a-z][a-z_]*\.[a-z][a-z_]*$`)
	fieldRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
)

// validate checks a declaration: a code of two dotted words, fields named
// as JSON members, a subject kind, a provider and a fetch function.
func (sp Spec) validate() error {
	switch {
	case !codeRE.MatchString(sp.Code) || len(sp.Code) > 64:
		return fmt.Errorf("exchange: service code %q", sp.Code)
	case sp.Version < 1:
		return fmt.Errorf("exchange: service %s has no version", sp.Code)
	case sp.Provider == "":
		return fmt.Errorf("exchange: service %s has no provider", sp.Code)
	case sp.Subject != SubjectPerson && sp.Subject != SubjectOrganisation:
		return fmt.Errorf("exchange: service %s has no subject kind", sp.Code)
	case sp.Fetch == nil || len(sp.Fields) == 0:
		return fmt.Errorf("exchange: service %s has no fields or no fetch", sp.Code)
	}
	for i, f := range sp.Fields {
		if !fieldRE.MatchString(f.Name) || f.Schema == nil || slices.ContainsFunc(sp.Fields[:i], func(g Field) bool { return g.Name == f.Name }) {
			return fmt.Errorf("exchange: service %s field %q", sp.Code, f.Name)
		}
	}
	return nil
}

// Catalogue is the set of services, by code.
type Catalogue struct {
	specs []Spec
	by    map[string]int
}

// NewCatalogue checks the declarations and indexes them.
func NewCatalogue(specs []Spec) (*Catalogue, error) {
	c := &Catalogue{by: map[string]int{}}
	for _, sp := range specs {
		if err := sp.validate(); err != nil {
			return nil, err
		}
		if _, dup := c.by[sp.Code]; dup {
			return nil, fmt.Errorf("exchange: service %s declared twice", sp.Code)
		}
		c.by[sp.Code] = len(c.specs)
		c.specs = append(c.specs, sp)
	}
	return c, nil
}

// Specs returns the services in declaration order.
func (c *Catalogue) Specs() []Spec { return slices.Clone(c.specs) }

// Spec returns the service of a code; an unknown one is Invalid (a
// mistake in the query, never "not found": 404 means an unknown subject).
func (c *Catalogue) Spec(code string) (Spec, error) {
	i, ok := c.by[code]
	if !ok {
		return Spec{}, kernel.E(kernel.Invalid, "exchange.error.unknown_service")
	}
	return c.specs[i], nil
}

// Purpose is a legal purpose a query may name.
type Purpose struct {
	Code string
}

// TitleKey is the catalogue key of the purpose's title.
func (p Purpose) TitleKey() string { return "exchange.purpose." + p.Code }

// purposes is the catalogue of legal purposes: why an agency may read a
// person's data without asking them for paper. Each has a title in every
// language (exchange.purpose.CODE).
var purposes = []Purpose{
	{"administrative_procedure"}, // handling a citizen's application for an administrative procedure
	{"civil_status"},             // registering births, marriages, deaths
	{"residence"},                // registering and managing residence
	{"social_insurance"},         // social and health insurance contributions and benefits
	{"tax"},                      // tax administration
	{"social_assistance"},        // social assistance and support
	{"health_care"},              // medical treatment
	{"education"},                // school enrolment and education
	{"inspection"},               // an inspection by a competent authority
	{"law_enforcement"},          // preventing and investigating offences
	{"emergency"},                // protecting life and health in an emergency
}

// Purposes returns the catalogue of legal purposes.
func Purposes() []Purpose { return slices.Clone(purposes) }

// checkPurpose accepts a purpose code of the catalogue; none, or an
// unknown one, is Invalid: no purpose, no answer.
func checkPurpose(code string) (Purpose, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return Purpose{}, kernel.E(kernel.Invalid, "exchange.error.no_purpose")
	}
	for _, p := range purposes {
		if p.Code == code {
			return p, nil
		}
	}
	return Purpose{}, kernel.E(kernel.Invalid, "exchange.error.unknown_purpose")
}

// MaxCaseRef bounds a case reference, in characters.
const MaxCaseRef = 128

// checkCaseRef accepts a case reference of 1 to MaxCaseRef printable
// characters.
func checkCaseRef(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", kernel.E(kernel.Invalid, "exchange.error.no_case")
	}
	if !printable(s, MaxCaseRef) {
		return "", kernel.E(kernel.Invalid, "exchange.error.bad_case")
	}
	return s, nil
}

// printable reports whether s is valid UTF-8 of at most max characters
// without control characters.
func printable(s string, max int) bool {
	n := 0
	for _, r := range s {
		n++
		if r == 0xFFFD || r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || n > max {
			return false
		}
	}
	return true
}
