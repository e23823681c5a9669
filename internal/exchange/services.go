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
			Code: "population.person", Version: 1, Registry: registry.RegistryPopulation, Provider: registry.Police, Subject: SubjectPerson,
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
			Code: "residence.household", Version: 1, Registry: registry.RegistryResidence, Provider: registry.Police, Subject: SubjectPerson,
			Fields: []Field{{"household_id", str}, {"unit", str}, {"address", str}, {"area_code", str}, {"head_citizen_id", citizenID},
				{"members", map[string]any{"type": "array", "items": member}}},
			Fetch: func(ctx context.Context, reg *registry.Service, s Subject) (Found, error) {
				if s.Person.HouseholdID == "" {
					return Found{}, nil
				}
				h, err := reg.Household(ctx, s.Person.HouseholdID)
				if kernel.ErrorCode(err) == kernel.NotFound {
					return Found{}, nil
				}
				if err != nil {
					return Found{}, err
				}
				ms, err := reg.HouseholdMembers(ctx, s.Person.HouseholdID)
				if err != nil && kernel.ErrorCode(err) != kernel.NotFound {
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
				rec := map[string]any{"household_id": h.ID, "unit": h.UnitCode, "address": h.Address, "members": members}
				if h.AreaCode != "" {
					rec["area_code"] = h.AreaCode
				}
				rel := map[string][]string{"members": others}
				if h.HeadCitizenID != "" {
					rec["head_citizen_id"] = h.HeadCitizenID
					if h.HeadCitizenID != s.ID {
						rel["head_citizen_id"] = []string{h.HeadCitizenID}
					}
				}
				return Found{Records: []map[string]any{rec}, Related: rel}, nil
			},
		},
		{
			Code: "civil_status.birth", Version: 1, Registry: registry.RegistryCivilStatus, Provider: registry.CivilStatus, Subject: SubjectPerson,
			Fields: []Field{{"citizen_id", citizenID}, {"full_name", str}, {"birth_date", date}, {"sex", sex}, {"place_of_birth", str},
				{"mother_citizen_id", citizenID}, {"mother_name", str}, {"father_citizen_id", citizenID}, {"father_name", str},
				{"registration_number", str}, {"registered_on", date}, {"agency", str}},
			Fetch: func(ctx context.Context, reg *registry.Service, s Subject) (Found, error) {
				b, err := reg.Birth(ctx, s.ID)
				if kernel.ErrorCode(err) == kernel.NotFound {
					return Found{}, nil
				}
				if err != nil {
					return Found{}, err
				}
				rec := map[string]any{"citizen_id": b.CitizenID, "full_name": b.FullName, "birth_date": b.BirthDate, "sex": string(b.Sex),
					"place_of_birth": b.PlaceOfBirth, "registration_number": b.RegistrationNumber, "registered_on": b.RegisteredOn, "agency": b.AgencyCode}
				rel := map[string][]string{}
				// A parent's name and number are the parent's data too.
				for _, p := range []struct{ idField, nameField, id, name string }{
					{"mother_citizen_id", "mother_name", b.MotherCitizenID, b.MotherName},
					{"father_citizen_id", "father_name", b.FatherCitizenID, b.FatherName}} {
					if p.name != "" {
						rec[p.nameField] = p.name
					}
					if p.id != "" {
						rec[p.idField] = p.id
						rel[p.idField], rel[p.nameField] = []string{p.id}, []string{p.id}
					}
				}
				return Found{Records: []map[string]any{rec}, Related: rel}, nil
			},
		},
		{
			Code: "land.parcels_of_owner", Version: 1, Registry: registry.RegistryLand, Provider: registry.NaturalResources, Subject: SubjectPerson, List: true,
			Fields: []Field{{"parcel_id", str}, {"unit", str}, {"map_sheet", map[string]any{"type": "integer"}}, {"parcel_number", map[string]any{"type": "integer"}},
				{"area_m2", map[string]any{"type": "number"}}, {"land_use", str}, {"address", str},
				{"owners", map[string]any{"type": "array", "items": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
					"owner_kind": map[string]any{"type": "string", "enum": []any{"person", "business"}}, "owner_id": str}}}},
				{"certificate", map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
					"certificate_number": str, "issued_on": date, "agency": str, "cancelled_on": date}}}},
			Fetch: func(ctx context.Context, reg *registry.Service, s Subject) (Found, error) {
				ps, err := reg.ParcelsOf(ctx, s.ID)
				if err != nil {
					return Found{}, err
				}
				out := Found{Related: map[string][]string{}}
				for _, p := range ps {
					owners := make([]any, len(p.Owners))
					for i, o := range p.Owners {
						owners[i] = map[string]any{"owner_kind": string(o.Kind), "owner_id": o.OwnerID}
						if o.Kind == registry.OwnerPerson && o.OwnerID != s.ID {
							out.Related["owners"] = append(out.Related["owners"], o.OwnerID) // a co-owner
						}
					}
					rec := map[string]any{"parcel_id": p.ID, "unit": p.UnitCode, "map_sheet": p.MapSheet, "parcel_number": p.ParcelNumber,
						"area_m2": p.AreaM2, "land_use": p.LandUse, "address": p.Address, "owners": owners}
					if c := p.Certificate; c != nil {
						cert := map[string]any{"certificate_number": c.Number, "issued_on": c.IssuedOn, "agency": c.AgencyCode}
						if c.CancelledOn != "" {
							cert["cancelled_on"] = c.CancelledOn
						}
						rec["certificate"] = cert
					}
					out.Records = append(out.Records, rec)
				}
				return out, nil
			},
		},
		{
			Code: "insurance.card", Version: 1, Registry: registry.RegistryInsurance, Provider: registry.SocialInsurance, Subject: SubjectPerson,
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
			Code: "vehicle.of_owner", Version: 1, Registry: registry.RegistryVehicles, Provider: registry.Police, Subject: SubjectPerson, List: true,
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
			Code: "business.enterprise", Version: 1, Registry: registry.RegistryBusiness, Provider: registry.PlanningInvestment, Subject: SubjectOrganisation,
			Fields: []Field{{"reg_number", regNumber}, {"name", str}, {"legal_rep", citizenID}, {"unit", str}, {"registered_on", date}},
			Fetch: func(_ context.Context, _ *registry.Service, s Subject) (Found, error) {
				b := s.Business
				return Found{Records: []map[string]any{{"reg_number": b.RegNumber, "name": b.Name, "legal_rep": b.LegalRepCitizenID,
					"unit": b.UnitCode, "registered_on": b.RegisteredOn}},
					Related: map[string][]string{"legal_rep": {b.LegalRepCitizenID}}}, nil
			},
		},
		{
			Code: "business.of_representative", Version: 1, Registry: registry.RegistryBusiness, Provider: registry.PlanningInvestment, Subject: SubjectPerson, List: true,
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
