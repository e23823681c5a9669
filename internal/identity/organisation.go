package identity

import (
	"context"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Organisation roles.
const (
	RoleRepresentative = "representative" // the legal representative in the business registry
	RoleMember         = "member"         // someone the representative delegated
)

// Membership is an account's place in an organisation.
type Membership struct {
	ID        string // organisation ID
	RegNumber string
	Name      string
	Role      string
}

// Member is a person in an organisation, for the representative's list.
type Member struct {
	AccountID string
	CitizenID string
	Role      string
}

// RegisterOrganisation opens the organisation account of a business whose
// legal representative in the business registry is the account holder.
func (s *Service) RegisterOrganisation(ctx context.Context, accountID, regNumber string) (Membership, error) {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return Membership{}, err
	}
	if a.Level != 2 || a.Status != StatusActive {
		return Membership{}, kernel.E(kernel.Forbidden, "error.identity.org_level2")
	}
	b, err := s.reg.Business(ctx, strings.TrimSpace(regNumber))
	if err != nil {
		return Membership{}, err
	}
	if b.LegalRepCitizenID != a.CitizenID {
		return Membership{}, kernel.E(kernel.Forbidden, "error.identity.not_legal_rep")
	}
	m := Membership{ID: kernel.NewID(), RegNumber: b.RegNumber, Name: b.Name, Role: RoleRepresentative}
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := insertOrganisation(ctx, tx, m); err != nil {
			return err
		}
		if err := insertMember(ctx, tx, m.ID, a.ID, RoleRepresentative, a.ID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.org.register", "organisation", m.ID, map[string]any{"reg_number": m.RegNumber})
	})
	if err != nil {
		return Membership{}, err
	}
	return m, nil
}

// Organisations lists the organisations an account belongs to.
func (s *Service) Organisations(ctx context.Context, accountID string) ([]Membership, error) {
	var out []Membership
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		out, err = findMemberships(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "identity: organisations")
	}
	return out, nil
}

// representative checks that accountID represents orgID.
func representative(ctx context.Context, tx *db.Tx, orgID, accountID string) error {
	role, err := findMemberRole(ctx, tx, orgID, accountID)
	if err != nil {
		return err
	}
	if role != RoleRepresentative {
		return kernel.E(kernel.Forbidden, "error.identity.not_representative")
	}
	return nil
}

// Members lists an organisation's members, for its representative.
func (s *Service) Members(ctx context.Context, accountID, orgID string) ([]Member, error) {
	var out []Member
	err := s.db.View(ctx, func(tx *db.Tx) error {
		if err := representative(ctx, tx, orgID, accountID); err != nil {
			return err
		}
		var err error
		out, err = findMembers(ctx, tx, orgID)
		return err
	})
	if err != nil && kernel.ErrorCode(err) == kernel.Internal {
		return nil, kernel.Wrap(err, "identity: members")
	}
	return out, err
}

// AddMember lets the representative delegate to another account holder.
func (s *Service) AddMember(ctx context.Context, accountID, orgID, memberCitizenID string) error {
	m, err := s.AccountByCitizen(ctx, strings.TrimSpace(memberCitizenID))
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && m.Status != StatusActive {
		return kernel.E(kernel.NotFound, "error.identity.member_no_account")
	}
	if err != nil {
		return err
	}
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := representative(ctx, tx, orgID, accountID); err != nil {
			return err
		}
		if err := insertMember(ctx, tx, orgID, m.ID, RoleMember, accountID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.org.member.add", "organisation", orgID, map[string]any{"member": m.ID})
	})
}

// RemoveMember removes a delegated member; the representative cannot be
// removed this way (the business registry says who represents).
func (s *Service) RemoveMember(ctx context.Context, accountID, orgID, memberAccountID string) error {
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := representative(ctx, tx, orgID, accountID); err != nil {
			return err
		}
		done, err := deleteMember(ctx, tx, orgID, memberAccountID, RoleMember)
		if err != nil {
			return err
		}
		if !done {
			return kernel.E(kernel.NotFound, "error.identity.member_not_found")
		}
		return appendAudit(ctx, tx, "identity.org.member.remove", "organisation", orgID, map[string]any{"member": memberAccountID})
	})
}
