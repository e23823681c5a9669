package privacy

import (
	"context"
	"strconv"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// ExportFormat names the layout of the JSON export.
const ExportFormat = "civitas-personal-data/1"

// PersonExport is what civitas holds about one person.
type PersonExport struct {
	CitizenID string    `json:"citizen_id"`
	Name      string    `json:"name"`
	Dependant bool      `json:"dependant,omitempty"`
	Sections  []Section `json:"sections"`
}

// Export is a person's data and their dependants', as they download it.
type Export struct {
	Format     string         `json:"format"`
	Generated  time.Time      `json:"generated_at"`
	Person     PersonExport   `json:"person"`
	Dependants []PersonExport `json:"dependants,omitempty"`
}

// auditLimit bounds the audit records an export lists per subject: the
// newest, enough for years of a person's life with civitas.
const auditLimit = 500

// Export gathers everything civitas holds about the signed-in account's
// person and, for a guardian, about each dependant: every source's
// records, the registries' records, the consents given, the audit log's
// records about them (what was done, when, by what kind of actor) and
// their correction requests. Only the person may export it.
func (s *Service) Export(ctx context.Context, accountID string) (Export, error) {
	if err := self(ctx, accountID); err != nil {
		return Export{}, err
	}
	if s.o.Accounts == nil {
		return Export{}, kernel.E(kernel.Unavailable, "privacy.error.unavailable")
	}
	me, err := s.o.Accounts.Subject(ctx, accountID)
	if err != nil {
		return Export{}, err
	}
	out := Export{Format: ExportFormat, Generated: s.o.Clock.Now().UTC().Truncate(time.Second)}
	if out.Person, err = s.person(ctx, me); err != nil {
		return Export{}, err
	}
	if s.o.Dependants != nil {
		deps, err := s.o.Dependants.Dependants(ctx, accountID)
		if err != nil {
			return Export{}, err
		}
		for _, d := range deps {
			d.Dependant = true
			pe, err := s.person(ctx, d)
			if err != nil {
				return Export{}, err
			}
			out.Dependants = append(out.Dependants, pe)
		}
	}
	return out, nil
}

// person gathers one subject's sections.
func (s *Service) person(ctx context.Context, subj Subject) (PersonExport, error) {
	pe := PersonExport{CitizenID: subj.CitizenID, Name: subj.Name, Dependant: subj.Dependant}
	add := func(name string, rs []Record) {
		if len(rs) > 0 {
			pe.Sections = append(pe.Sections, Section{Name: name, Records: rs})
		}
	}
	reg, err := s.registryRecords(ctx, subj)
	if err != nil {
		return pe, err
	}
	add("registry", reg)
	for _, src := range s.o.Sources {
		rs, err := src.Export(ctx, subj)
		if err != nil {
			return pe, kernel.Wrap(err, "privacy: %s", src.Name())
		}
		add(src.Name(), rs)
	}
	if s.o.Consents != nil && subj.AccountID != "" {
		cs, err := s.o.Consents.Consents(ctx, subj.AccountID)
		if err != nil {
			return pe, err
		}
		var rs []Record
		for _, c := range cs {
			rs = append(rs, Record{Kind: "consent", ID: c.ClientID, Fields: fields(
				"relying_party", c.Name, "purpose", c.Purpose, "scopes", strings.Join(c.Scopes, " "), "granted_at", stamp(c.GrantedAt))})
		}
		add("consents", rs)
	}
	corr, err := s.correctionRecords(ctx, subj)
	if err != nil {
		return pe, err
	}
	add("corrections", corr)
	trail, err := s.auditRecords(ctx, subj)
	if err != nil {
		return pe, err
	}
	add("audit", trail)
	return pe, nil
}

// fields pairs names and values, leaving out empty values.
func fields(kv ...string) []Field {
	out := make([]Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, Field{Name: kv[i], Value: kv[i+1]})
		}
	}
	return out
}

// stamp writes a time in the province's zone, as RFC 3339; zero is "".
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(kernel.Zone()).Format(time.RFC3339)
}

// registryRecords are the registries' records of the person: the
// population record (the household by its number only: the other members
// are other people), the health-insurance card, vehicles, businesses they
// represent. Each names the agency that corrects it.
func (s *Service) registryRecords(ctx context.Context, subj Subject) ([]Record, error) {
	if s.o.Registry == nil {
		return nil, nil
	}
	p, err := s.o.Registry.Person(ctx, subj.CitizenID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	police, err := s.agencyFor(ctx, p.UnitCode, registry.Police, registry.PeopleCommittee)
	if err != nil {
		return nil, err
	}
	rs := []Record{{Kind: "person", ID: p.CitizenID, Agency: police, Fields: fields(
		"citizen_id", p.CitizenID, "full_name", p.FullName, "birth_date", p.BirthDate, "sex", string(p.Sex),
		"household", p.HouseholdID, "residence_unit", p.UnitCode, "phone", p.Phone)}}
	card, err := s.o.Registry.InsuranceCard(ctx, p.CitizenID)
	switch {
	case err == nil:
		ins, err := s.agencyFor(ctx, p.UnitCode, registry.SocialInsurance, registry.PeopleCommittee)
		if err != nil {
			return nil, err
		}
		rs = append(rs, Record{Kind: "insurance_card", ID: card.CardNumber, Agency: ins, Fields: fields(
			"card_number", card.CardNumber, "hospital", card.Hospital, "benefit_level", card.BenefitLevel,
			"valid_from", card.ValidFrom, "valid_to", card.ValidTo)})
	case kernel.ErrorCode(err) != kernel.NotFound:
		return nil, err
	}
	vs, err := s.o.Registry.VehiclesOf(ctx, p.CitizenID)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		rs = append(rs, Record{Kind: "vehicle", ID: v.Plate, Agency: police, Fields: fields(
			"plate", v.Plate, "make", v.Make, "model", v.Model, "colour", v.Colour, "registered_on", v.RegisteredOn,
			"frame_number", v.FrameNumber, "engine_number", v.EngineNumber)})
	}
	bs, err := s.o.Registry.BusinessesOf(ctx, p.CitizenID)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		committee, err := s.agencyFor(ctx, b.UnitCode, registry.PeopleCommittee)
		if err != nil {
			return nil, err
		}
		rs = append(rs, Record{Kind: "business", ID: b.RegNumber, Agency: committee, Fields: fields(
			"reg_number", b.RegNumber, "name", b.Name, "unit", b.UnitCode, "registered_on", b.RegisteredOn)})
	}
	return rs, nil
}

// agencyFor finds the agency of one of kinds (in order of preference) at
// unit or the nearest unit above it: who keeps that kind of record for a
// person living there. "" when there is none.
func (s *Service) agencyFor(ctx context.Context, unit string, kinds ...registry.AgencyKind) (string, error) {
	for _, kind := range kinds {
		for u, hops := unit, 0; u != "" && hops < 4; hops++ {
			as, err := s.o.Registry.AgenciesIn(ctx, u)
			if err != nil {
				return "", err
			}
			for _, a := range as {
				if a.Kind == kind {
					return a.Code, nil
				}
			}
			up, err := s.o.Registry.Unit(ctx, u)
			if kernel.ErrorCode(err) == kernel.NotFound {
				break
			}
			if err != nil {
				return "", err
			}
			u = up.ParentCode
		}
	}
	return "", nil
}

// auditRecords are the audit log's records about the person: their
// account's and their population record's. Who acted is given by kind
// only (an official's account is another person's identifier).
func (s *Service) auditRecords(ctx context.Context, subj Subject) ([]Record, error) {
	var rs []Record
	queries := []audit.Query{{SubjectType: "person", SubjectID: subj.CitizenID}}
	if subj.AccountID != "" {
		queries = append(queries, audit.Query{SubjectType: "account", SubjectID: subj.AccountID})
	}
	for _, q := range queries {
		q.Page = kernel.Page{Limit: auditLimit}
		recs, err := audit.List(ctx, s.o.DB, q)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			rs = append(rs, Record{Kind: "audit", ID: strconv.FormatInt(r.Seq, 10), Fields: fields(
				"at", stamp(r.At), "action", r.Action, "actor_kind", r.ActorKind, "purpose", r.Purpose)})
		}
	}
	return rs, nil
}

// correctionRecords are the person's correction requests.
func (s *Service) correctionRecords(ctx context.Context, subj Subject) ([]Record, error) {
	var cs []Correction
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		cs, err = findCorrectionsOf(ctx, tx, subj.CitizenID)
		return err
	})
	if err != nil {
		return nil, err
	}
	rs := make([]Record, 0, len(cs))
	for _, c := range cs {
		rs = append(rs, Record{Kind: "correction", ID: c.ID, Fields: fields(
			"record", c.Section+"/"+c.RecordKind+"/"+c.RecordID, "agency", c.Agency, "wrong", c.Wrong, "correct", c.Correct,
			"status", c.Status, "answer", c.Answer, "asked_at", stamp(c.CreatedAt), "decided_at", stamp(c.DecidedAt))})
	}
	return rs, nil
}
