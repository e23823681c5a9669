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

// Pullable lists the types a holder can pull from the registries: those
// whose source registry holds documents of the holder's kind.
func (s *Service) Pullable(h Holder) []Type {
	var out []Type
	for _, t := range s.o.Catalogue.Types() {
		if t.Source != "" && t.Holder == h.Kind {
			out = append(out, t)
		}
	}
	return out
}

// Pull issues a document of a registry-held type into h's wallet, filled
// from the registry, on behalf of the agency that keeps that registry for
// h: of a kind that may issue the type, seated nearest above the holder's
// commune (its district, then its province). A valid document of the type
// already there is a Conflict: the wallet never holds two. The actor in
// ctx (the citizen) is audited as having asked.
func (s *Service) Pull(ctx context.Context, reg PageRegistry, h Holder, typeCode string) (Detailed, error) {
	t, err := s.o.Catalogue.Type(typeCode)
	if err != nil {
		return Detailed{}, err
	}
	if t.Source == "" || t.Holder != h.Kind {
		return Detailed{}, kernel.E(kernel.Invalid, "wallet.error.no_source")
	}
	docs, err := s.Documents(ctx, h, true)
	if err != nil {
		return Detailed{}, err
	}
	now := s.o.Clock.Now()
	for _, d := range docs {
		if d.Type == t.Code && d.Valid(now) {
			return Detailed{}, kernel.E(kernel.Conflict, "walletpages.error.already_held")
		}
	}
	agency, err := keeperOf(ctx, reg, t, h)
	if err != nil {
		return Detailed{}, err
	}
	return s.Issue(ctx, Issuance{Agency: agency.Code, Type: t.Code, Holder: h})
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
