package exchange

import (
	"context"

	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Field schemas shared by the declarations.
var (
	str       = map[string]any{"type": "string"}
	date      = map[string]any{"type": "string", "format": "date"}
	citizenID = map[string]any{"type": "string", "pattern": "^[0-9]{12}$"}
	sex       = map[string]any{"type": "string", "enum": []any{"M", "F"}}
	regNumber = map[string]any{"type": "string", "pattern": "^[0-9]{10}$"}
)

// member is a person of a household as residence.household lists them.
var member = map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
	"citizen_id": citizenID, "full_name": str, "birth_date": date, "sex": sex}}

// DefaultServices are the services of the registries civitas holds. The
// field names are the registries' own (their JSON tags).
func DefaultServices() []Spec {
	return []Spec{
		{
			Code: "population.person", Version: 1, Provider: registry.Police, Subject: SubjectPerson,
			Fields: []Field{{"citizen_id", citizenID}, {"full_name", str}, {"birth_date", date}, {"sex", sex},
				{"household_id", str}, {"unit", str}, {"phone", str}},
			Fetch: func(_ context.Context, _ *registry.Service, s Subject) (Found, error) {
				p := s.Person
				rec := map[string]any{"citizen_id": p.CitizenID, "full_name": p.FullName, "birth_date": p.BirthDate, "sex": string(p.Sex),
					"household_id": p.HouseholdID, "unit": p.UnitCode}
				if p.Phone != "" {
					rec["phone"] = p.Phone
				}
				return Found{Records: []map[string]any{rec}}, nil
			},
		},
		{
			Code: "residence.household", Version: 1, Provider: registry.Police, Subject: SubjectPerson,
			Fields: []Field{{"household_id", str}, {"unit", str}, {"members", map[string]any{"type": "array", "items": member}}},
			Fetch: func(ctx context.Context, reg *registry.Service, s Subject) (Found, error) {
				if s.Person.HouseholdID == "" {
					return Found{}, nil
				}
				ms, err := reg.HouseholdMembers(ctx, s.Person.HouseholdID)
				if kernel.ErrorCode(err) == kernel.NotFound {
					return Found{}, nil
				}
				if err != nil {
					return Found{}, err
				}
				members := make([]any, len(ms))
				var others []string
				for i, m := range ms {
					members[i] = map[string]any{"citizen_id": m.CitizenID, "full_name": m.FullName, "birth_date": m.BirthDate, "sex": string(m.Sex)}
					if m.CitizenID != s.ID {
						others = append(others, m.CitizenID)
					}
				}
				rec := map[string]any{"household_id": s.Person.HouseholdID, "unit": s.Person.UnitCode, "members": members}
				return Found{Records: []map[string]any{rec}, Related: map[string][]string{"members": others}}, nil
			},
		},
		{
			Code: "insurance.card", Version: 1, Provider: registry.SocialInsurance, Subject: SubjectPerson,
			Fields: []Field{{"card_number", map[string]any{"type": "string", "pattern": "^[0-9]{10}$"}}, {"citizen_id", citizenID},
				{"hospital", str}, {"benefit_level", str}, {"valid_from", date}, {"valid_to", date}},
			Fetch: func(ctx context.Context, reg *registry.Service, s Subject) (Found, error) {
				c, err := reg.InsuranceCard(ctx, s.ID)
				if kernel.ErrorCode(err) == kernel.NotFound {
					return Found{}, nil
				}
				if err != nil {
					return Found{}, err
				}
				rec := map[string]any{"card_number": c.CardNumber, "citizen_id": c.CitizenID, "hospital": c.Hospital,
					"valid_from": c.ValidFrom, "valid_to": c.ValidTo}
				if c.BenefitLevel != "" {
					rec["benefit_level"] = c.BenefitLevel
				}
				return Found{Records: []map[string]any{rec}}, nil
			},
		},
		{
			Code: "vehicle.of_owner", Version: 1, Provider: registry.Police, Subject: SubjectPerson, List: true,
			Fields: []Field{{"plate", str}, {"owner", citizenID}, {"make", str}, {"model", str}, {"colour", str},
				{"registered_on", date}, {"frame_number", str}, {"engine_number", str}},
			Fetch: func(ctx context.Context, reg *registry.Service, s Subject) (Found, error) {
				vs, err := reg.VehiclesOf(ctx, s.ID)
				if err != nil {
					return Found{}, err
				}
				var out Found
				for _, v := range vs {
					rec := map[string]any{"plate": v.Plate, "owner": v.OwnerCitizenID, "make": v.Make, "model": v.Model, "registered_on": v.RegisteredOn}
					for k, val := range map[string]string{"colour": v.Colour, "frame_number": v.FrameNumber, "engine_number": v.EngineNumber} {
						if val != "" {
							rec[k] = val
						}
					}
					out.Records = append(out.Records, rec)
				}
				return out, nil
			},
		},
		{
			// The business registry is kept by the tax authority here: the
			// enterprise code is also the tax code.
			Code: "business.enterprise", Version: 1, Provider: registry.Tax, Subject: SubjectOrganisation,
			Fields: []Field{{"reg_number", regNumber}, {"name", str}, {"legal_rep", citizenID}, {"unit", str}, {"registered_on", date}},
			Fetch: func(_ context.Context, _ *registry.Service, s Subject) (Found, error) {
				b := s.Business
				return Found{Records: []map[string]any{{"reg_number": b.RegNumber, "name": b.Name, "legal_rep": b.LegalRepCitizenID,
					"unit": b.UnitCode, "registered_on": b.RegisteredOn}},
					Related: map[string][]string{"legal_rep": {b.LegalRepCitizenID}}}, nil
			},
		},
		{
			Code: "business.of_representative", Version: 1, Provider: registry.Tax, Subject: SubjectPerson, List: true,
			Fields: []Field{{"reg_number", regNumber}, {"name", str}, {"legal_rep", citizenID}, {"unit", str}, {"registered_on", date}},
			Fetch: func(ctx context.Context, reg *registry.Service, s Subject) (Found, error) {
				bs, err := reg.BusinessesOf(ctx, s.ID)
				if err != nil {
					return Found{}, err
				}
				var out Found
				for _, b := range bs {
					out.Records = append(out.Records, map[string]any{"reg_number": b.RegNumber, "name": b.Name, "legal_rep": b.LegalRepCitizenID,
						"unit": b.UnitCode, "registered_on": b.RegisteredOn})
				}
				return out, nil
			},
		},
	}
}
