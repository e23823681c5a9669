package app

import (
	"context"
	"errors"
	"log/slog"

	"civitas/internal/db"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/learning"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// OpenLearning builds the digital-literacy platform on the e-ID, the
// registries and the wallet (certificates, issued by the provincial
// education department unless a school issues its own), and loads the
// shipped courses. id and w may be nil (no accounts, no certificates: the
// operator commands that import and list courses). Teachers' and teams'
// reads of a person's progress go to uses, the data-use log the person reads
// (the exchange's); nil for the operator commands, which read no one's.
func OpenLearning(ctx context.Context, d *db.DB, clock kernel.Clock, reg *registry.Service, id *identity.Service, w *wallet.Service, uses learning.UseLog, log *slog.Logger) (*learning.Service, error) {
	if uses == nil {
		uses = noUses{}
	}
	o := learning.Options{DB: d, Clock: clock, People: reg, Accounts: noAccounts{}, Schools: &learningSchools{reg: reg, d: d, clock: clock},
		UseLog: uses, Logger: log}
	if id != nil {
		o.Accounts, o.Officials = learningAccounts{id}, learningOfficials{id: id, reg: reg, w: w}
	}
	if w != nil {
		o.Certificates = learningCertificates{w}
		dept, err := certificateIssuer(ctx, reg, w)
		if err != nil {
			return nil, err
		}
		o.Department = dept
	}
	s, err := learning.New(o)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureBuiltin(kernel.WithActor(ctx, kernel.System("learning"))); err != nil {
		return nil, err
	}
	return s, nil
}

// certificateIssuer is the agency that issues course certificates for
// learners outside a school with its own: the first province-level agency
// whose kind the course_certificate type lets issue, in the type's order
// (the education department once the registry has one, else the
// provincial people's committee). "" when the registry has none yet.
func certificateIssuer(ctx context.Context, reg *registry.Service, w *wallet.Service) (string, error) {
	t, err := w.Catalogue().Type(learning.CertificateType)
	if err != nil {
		return "", err
	}
	agencies, err := reg.ListAgencies(ctx, kernel.Page{Limit: kernel.MaxPageLimit})
	if err != nil {
		return "", err
	}
	for _, kind := range t.Issuers {
		for _, a := range agencies {
			if a.Kind != kind {
				continue
			}
			u, err := reg.Unit(ctx, a.UnitCode)
			if err == nil && u.Level == registry.Province {
				return a.Code, nil
			}
		}
	}
	return "", nil
}

// learningAccounts gives learning the e-ID's accounts and guardianships.
type learningAccounts struct{ id *identity.Service }

var _ learning.Accounts = learningAccounts{}

func (a learningAccounts) Account(ctx context.Context, id string) (learning.Account, error) {
	acct, err := a.id.Account(ctx, id)
	if err != nil {
		return learning.Account{}, err
	}
	return learning.Account{ID: acct.ID, CitizenID: acct.CitizenID, Active: acct.Status == identity.StatusActive}, nil
}

func (a learningAccounts) Dependents(ctx context.Context, accountID string) ([]learning.Dependent, error) {
	deps, err := a.id.Dependents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]learning.Dependent, len(deps))
	for i, d := range deps {
		out[i] = learning.Dependent{CitizenID: d.Person.CitizenID, Name: d.Person.FullName}
	}
	return out, nil
}

// noAccounts: operator commands act as the operator, never as an account.
type noAccounts struct{}

var _ learning.Accounts = noAccounts{}

func (noAccounts) Account(context.Context, string) (learning.Account, error) {
	return learning.Account{}, kernel.E(kernel.NotFound, "learning.error.not_your_learner")
}

func (noAccounts) Dependents(context.Context, string) ([]learning.Dependent, error) { return nil, nil }

// learningOfficials gives learning the officials' posts: members of a
// community digital technology team, and the officials of a commune's
// people's committee or service centre, run community classes; a
// province-level agency that may issue course certificates (the education
// department) imports question banks.
type learningOfficials struct {
	id  *identity.Service
	reg *registry.Service
	w   *wallet.Service
}

var _ learning.Officials = learningOfficials{}

func (o learningOfficials) Posts(ctx context.Context, accountID string) ([]learning.Post, error) {
	posts, err := o.id.Posts(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var cert wallet.Type
	if o.w != nil {
		cert, _ = o.w.Catalogue().Type(learning.CertificateType)
	}
	var out []learning.Post
	seen := map[string]bool{}
	for _, p := range posts {
		if seen[p.Agency.Code] {
			continue
		}
		seen[p.Agency.Code] = true
		u, err := o.reg.Unit(ctx, p.Agency.UnitCode)
		if err != nil {
			return nil, err
		}
		lp := learning.Post{AgencyCode: p.Agency.Code, AgencyName: p.Agency.Name, UnitCode: p.Agency.UnitCode,
			Trainer: p.Role == registry.CommunityTech ||
				u.Level == registry.Commune && (p.Agency.Kind == registry.PeopleCommittee || p.Agency.Kind == registry.ServiceCentre),
			Author: u.Level == registry.Province && cert.IssuedBy(p.Agency.Kind)}
		if lp.Trainer || lp.Author {
			out = append(out, lp)
		}
	}
	return out, nil
}

// learningCertificates issues course certificates into the wallet.
type learningCertificates struct{ w *wallet.Service }

var _ learning.Certificates = learningCertificates{}

func (c learningCertificates) IssueCertificate(ctx context.Context, agency, citizenID string, claims map[string]any) (string, error) {
	doc, err := c.w.Issue(ctx, wallet.Issuance{Agency: agency, Type: learning.CertificateType,
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: citizenID}, Claims: claims})
	if err != nil {
		return "", err
	}
	return doc.ID, nil
}

// noUses is the data-use log of operator commands, which read nobody's
// progress: a read reaching it is a wiring mistake, refused.
type noUses struct{}

var _ learning.UseLog = noUses{}

func (noUses) Record(context.Context, *db.Tx, kernel.DataUse) error {
	return kernel.Wrap(errors.New("no data-use log in this command"), "app: learning")
}

// Learning returns the digital-literacy platform.
func (a *App) Learning() *learning.Service { return a.learning }

// SeedLearningDemo gives the demo province's young people (14 to 17) some
// progress and a few passed courses, once.
func SeedLearningDemo(ctx context.Context, s *learning.Service) error {
	_, err := s.SeedDemo(ctx, learning.DemoOptions{Seed: 1})
	return err
}
