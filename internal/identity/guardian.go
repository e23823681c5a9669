package identity

import (
	"context"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// DependentAge is the age under which a child is a dependent on a
// guardian's account instead of holding their own.
const DependentAge = 14

// Dependent is a child a guardian acts for.
type Dependent struct {
	Person   registry.Person
	Relation string
}

// Dependents lists the children under DependentAge an account is guardian
// of. A child who has turned DependentAge drops out of the list.
func (s *Service) Dependents(ctx context.Context, accountID string) ([]Dependent, error) {
	var links []guardianLink
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		links, err = findGuardianLinks(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "identity: dependents")
	}
	now := s.clock.Now()
	var out []Dependent
	for _, l := range links {
		p, err := s.reg.Person(ctx, l.childCitizenID)
		if err != nil {
			if kernel.ErrorCode(err) == kernel.NotFound {
				continue
			}
			return nil, err
		}
		if p.AgeOn(now) < DependentAge {
			out = append(out, Dependent{Person: p, Relation: l.relation})
		}
	}
	return out, nil
}

// Claimable lists the children under DependentAge in the account holder's
// household who are not yet their dependents.
func (s *Service) Claimable(ctx context.Context, accountID string) ([]registry.Person, error) {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	me, err := s.reg.Person(ctx, a.CitizenID)
	if err != nil {
		return nil, err
	}
	if me.AgeOn(s.clock.Now()) < 18 {
		return nil, nil
	}
	members, err := s.reg.HouseholdMembers(ctx, me.HouseholdID)
	if err != nil {
		return nil, err
	}
	deps, err := s.Dependents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, d := range deps {
		have[d.Person.CitizenID] = true
	}
	var out []registry.Person
	for _, m := range members {
		if m.CitizenID != me.CitizenID && m.AgeOn(s.clock.Now()) < DependentAge && !have[m.CitizenID] {
			out = append(out, m)
		}
	}
	return out, nil
}

// AddDependent makes a child of the holder's household their dependent. The
// guardian's account must be level 2: acting for a child needs an identity
// proven in person.
func (s *Service) AddDependent(ctx context.Context, accountID, childCitizenID string) error {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if a.Level != 2 || a.Status != StatusActive {
		return kernel.E(kernel.Forbidden, "error.identity.guardian_level2")
	}
	cands, err := s.Claimable(ctx, accountID)
	if err != nil {
		return err
	}
	childCitizenID = strings.TrimSpace(childCitizenID)
	for _, c := range cands {
		if c.CitizenID == childCitizenID {
			return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
				return addGuardianship(ctx, tx, a.ID, c.CitizenID, "household", a.ID)
			})
		}
	}
	return kernel.E(kernel.Forbidden, "error.identity.not_your_child")
}

// RecordGuardian is the officer's way to make a guardian of a child outside
// the household (a court-appointed guardian, a grandparent elsewhere). It
// needs an officer in a level-2 login.
func (s *Service) RecordGuardian(ctx context.Context, o Officer, guardianCitizenID, childCitizenID, relation string) error {
	if err := o.mayActOnAccounts(); err != nil {
		return err
	}
	child, _, err := s.LookUp(ctx, o, childCitizenID)
	if err != nil {
		return err
	}
	if child.AgeOn(s.clock.Now()) >= DependentAge {
		return kernel.E(kernel.Invalid, "error.identity.not_a_child")
	}
	g, err := s.AccountByCitizen(ctx, strings.TrimSpace(guardianCitizenID))
	if err != nil {
		return err
	}
	if g.Level != 2 || g.Status != StatusActive {
		return kernel.E(kernel.Forbidden, "error.identity.guardian_level2")
	}
	relation = strings.TrimSpace(relation)
	if relation == "" || len(relation) > 60 {
		return kernel.E(kernel.Invalid, "error.identity.bad_relation")
	}
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		return addGuardianship(ctx, tx, g.ID, child.CitizenID, relation, o.AccountID)
	})
}

// addGuardianship records a guardian of a child, with its audit record.
func addGuardianship(ctx context.Context, tx *db.Tx, guardianID, childID, relation, by string) error {
	if err := insertGuardianship(ctx, tx, guardianID, childID, relation, by); err != nil {
		return err
	}
	return appendAudit(ctx, tx, "identity.guardian.add", "person", childID, map[string]any{"guardian": guardianID, "relation": relation})
}

// Subject is whom a session acts for: the account itself, a dependent child
// ("person:" + citizen ID) or an organisation ("org:" + organisation ID).
type Subject struct {
	Kind string // "self", "person" or "org"
	ID   string
	Name string
}

// ActFor checks that an account may act for whom ("person:ID" or "org:ID")
// and returns the subject. It is checked again at every request, so a
// guardianship that ends stops the acting at once.
func (s *Service) ActFor(ctx context.Context, accountID, whom string) (Subject, error) {
	kind, id, ok := strings.Cut(whom, ":")
	if !ok || id == "" {
		return Subject{}, kernel.E(kernel.Invalid, "error.identity.bad_subject")
	}
	switch kind {
	case "person":
		deps, err := s.Dependents(ctx, accountID)
		if err != nil {
			return Subject{}, err
		}
		for _, d := range deps {
			if d.Person.CitizenID == id {
				return Subject{Kind: kind, ID: id, Name: d.Person.FullName}, nil
			}
		}
	case "org":
		orgs, err := s.Organisations(ctx, accountID)
		if err != nil {
			return Subject{}, err
		}
		for _, o := range orgs {
			if o.ID == id {
				return Subject{Kind: kind, ID: id, Name: o.Name}, nil
			}
		}
	}
	return Subject{}, kernel.E(kernel.Forbidden, "error.identity.cannot_act_for")
}

// DependentProfile returns a dependent child's registry entry to their
// guardian; the read is audited with the guardian as actor, acting for the
// child.
func (s *Service) DependentProfile(ctx context.Context, accountID, childCitizenID string) (registry.Person, error) {
	if _, err := s.ActFor(ctx, accountID, "person:"+childCitizenID); err != nil {
		return registry.Person{}, err
	}
	p, err := s.reg.Person(ctx, childCitizenID)
	if err != nil {
		return p, err
	}
	ctx = kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: accountID, OnBehalfOf: "person:" + childCitizenID})
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		return appendAuditPurpose(ctx, tx, "registry.person.read", "person", childCitizenID, "guardian")
	})
	return p, err
}
