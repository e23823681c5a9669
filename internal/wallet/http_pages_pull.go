package wallet

import (
	"context"
	"slices"

	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// PageRegistry is what the pages read of the registries: agencies (and
// those seated in a unit, to find who keeps a registry for a holder), the
// units above a holder's, people and businesses.
type PageRegistry interface {
	Agency(ctx context.Context, code string) (registry.Agency, error)
	AgenciesIn(ctx context.Context, unitCode string) ([]registry.Agency, error)
	Unit(ctx context.Context, code string) (registry.Unit, error)
	Person(ctx context.Context, citizenID string) (registry.Person, error)
	Business(ctx context.Context, regNumber string) (registry.Business, error)
}

var _ PageRegistry = (*registry.Service)(nil)

// Pullable lists the types a holder can pull from the registries now:
// those whose source registry holds documents of the holder's kind, less
// those the wallet already holds a valid document of — but vehicle
// registrations, offered while one of the holder's vehicles has none (and
// not at all to someone owning no vehicle). Pull would refuse the others.
func (s *Service) Pullable(ctx context.Context, h Holder) ([]Type, error) {
	var types []Type
	for _, t := range s.o.Catalogue.Types() {
		if t.Source != "" && t.Holder == h.Kind {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil, nil
	}
	docs, err := s.Documents(ctx, h, true)
	if err != nil {
		return nil, err
	}
	now := s.o.Clock.Now()
	held := make(map[string][]Document)
	for _, d := range docs {
		if d.Valid(now) {
			held[d.Type] = append(held[d.Type], d)
		}
	}
	var out []Type
	for _, t := range types {
		if t.Source == SourceVehicles {
			left, err := s.vehiclesNotHeld(ctx, h, held[t.Code])
			if kernel.ErrorCode(err) == kernel.NotFound {
				continue // owns no vehicle
			}
			if err != nil {
				return nil, err
			}
			if len(left) == 0 {
				continue
			}
		} else if len(held[t.Code]) > 0 {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// Pull issues a document of a registry-held type into h's wallet, filled
// from the registry, on behalf of the agency that keeps that registry for
// h: of a kind that may issue the type, seated nearest above the holder's
// commune (its district, then its province). A valid document of the type
// already there is a Conflict: the wallet never holds two. The vehicle
// registry holds several vehicles per person, and the wallet a document per
// vehicle: Pull issues one for every vehicle of h's that no valid document
// names (by its plate), and is a Conflict only when every one is held. It
// returns what it issued; after an error, what it issued before. The actor
// in ctx (the citizen) is audited as having asked.
func (s *Service) Pull(ctx context.Context, reg PageRegistry, h Holder, typeCode string) ([]Detailed, error) {
	t, err := s.o.Catalogue.Type(typeCode)
	if err != nil {
		return nil, err
	}
	if t.Source == "" || t.Holder != h.Kind {
		return nil, kernel.E(kernel.Invalid, "wallet.error.no_source")
	}
	docs, err := s.Documents(ctx, h, true)
	if err != nil {
		return nil, err
	}
	now := s.o.Clock.Now()
	var held []Document
	for _, d := range docs {
		if d.Type == t.Code && d.Valid(now) {
			held = append(held, d)
		}
	}
	records := []string{""} // the holder's one record
	if t.Source == SourceVehicles {
		if records, err = s.vehiclesNotHeld(ctx, h, held); err != nil {
			return nil, err
		}
	}
	if len(records) == 0 || t.Source != SourceVehicles && len(held) > 0 {
		return nil, kernel.E(kernel.Conflict, "walletpages.error.already_held")
	}
	agency, err := keeperOf(ctx, reg, t, h)
	if err != nil {
		return nil, err
	}
	out := make([]Detailed, 0, len(records))
	for _, rec := range records {
		d, err := s.Issue(ctx, Issuance{Agency: agency.Code, Type: t.Code, Holder: h, Record: rec})
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

// vehiclesNotHeld lists the plates of h's vehicles in the registry that no
// document of held names; owning none is NotFound.
func (s *Service) vehiclesNotHeld(ctx context.Context, h Holder, held []Document) ([]string, error) {
	vs, err := s.o.Registries.VehiclesOf(ctx, h.ID)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, kernel.E(kernel.NotFound, "wallet.error.no_vehicle")
	}
	have := make(map[string]bool, len(held))
	for _, d := range held {
		full, err := s.Document(ctx, h, d.ID)
		if err != nil {
			return nil, err
		}
		plate, _ := full.Claims["plate"].(string)
		if p, err := registry.NormalisePlate(plate); err == nil {
			plate = p // an agency may have written it another way
		}
		have[plate] = true
	}
	var out []string
	for _, v := range vs {
		if !have[v.Plate] {
			out = append(out, v.Plate)
		}
	}
	return out, nil
}

// keeperOf finds the agency that keeps t's registry for h: walking up from
// the district of h's commune (registries are kept at district level and
// above), the first unit with an agency of a kind that may issue t, in the
// order the type lists its issuers.
func keeperOf(ctx context.Context, reg PageRegistry, t Type, h Holder) (registry.Agency, error) {
	var unit string
	switch h.Kind {
	case HolderPerson:
		p, err := reg.Person(ctx, h.ID)
		if err != nil {
			return registry.Agency{}, err
		}
		unit = p.UnitCode
	case HolderOrganisation:
		b, err := reg.Business(ctx, h.ID)
		if err != nil {
			return registry.Agency{}, err
		}
		unit = b.UnitCode
	default:
		return registry.Agency{}, kernel.E(kernel.Invalid, "wallet.error.wrong_holder")
	}
	for i := 0; i < 8 && unit != ""; i++ {
		u, err := reg.Unit(ctx, unit)
		if err != nil {
			return registry.Agency{}, err
		}
		if u.Level != registry.Commune {
			agencies, err := reg.AgenciesIn(ctx, u.Code)
			if err != nil {
				return registry.Agency{}, err
			}
			for _, k := range t.Issuers {
				if i := slices.IndexFunc(agencies, func(a registry.Agency) bool { return a.Kind == k }); i >= 0 {
					return agencies[i], nil
				}
			}
		}
		unit = u.ParentCode
	}
	return registry.Agency{}, kernel.E(kernel.Conflict, "walletpages.error.no_keeper")
}
