package identity

import (
	"context"
	"database/sql"
	"errors"
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
		_, err := tx.Exec(ctx, `INSERT INTO organisations (id, reg_number, name, created_at) VALUES (?, ?, ?, ?)`,
			m.ID, m.RegNumber, m.Name, kernel.Micros(tx.Now))
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "error.identity.org_exists")
		}
		if err != nil {
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

func insertMember(ctx context.Context, tx *db.Tx, orgID, accountID, role, by string) error {
	_, err := tx.Exec(ctx, `INSERT INTO org_members (org_id, account_id, role, added_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		orgID, accountID, role, by, kernel.Micros(tx.Now))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "error.identity.already_member")
	}
	return err
}

// Organisations lists the organisations an account belongs to.
func (s *Service) Organisations(ctx context.Context, accountID string) ([]Membership, error) {
	rows, err := s.db.Query(ctx, `SELECT o.id, o.reg_number, o.name, m.role FROM org_members m JOIN organisations o ON o.id = m.org_id
		WHERE m.account_id = ? ORDER BY o.name`, accountID)
	if err != nil {
		return nil, kernel.Wrap(err, "identity: organisations")
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		var m Membership
		if err := rows.Scan(&m.ID, &m.RegNumber, &m.Name, &m.Role); err != nil {
			return nil, kernel.Wrap(err, "identity: organisations")
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// representative checks that accountID represents orgID.
func representative(ctx context.Context, tx *db.Tx, orgID, accountID string) error {
	var role string
	err := tx.QueryRow(ctx, `SELECT role FROM org_members WHERE org_id = ? AND account_id = ?`, orgID, accountID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) || role != RoleRepresentative {
		return kernel.E(kernel.Forbidden, "error.identity.not_representative")
	}
	return err
}

// Members lists an organisation's members, for its representative.
func (s *Service) Members(ctx context.Context, accountID, orgID string) ([]Member, error) {
	var out []Member
	err := s.db.View(ctx, func(tx *db.Tx) error {
		if err := representative(ctx, tx, orgID, accountID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT a.id, a.citizen_id, m.role FROM org_members m JOIN accounts a ON a.id = m.account_id
			WHERE m.org_id = ? ORDER BY m.role DESC, a.citizen_id`, orgID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m Member
			if err := rows.Scan(&m.AccountID, &m.CitizenID, &m.Role); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
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
		res, err := tx.Exec(ctx, `DELETE FROM org_members WHERE org_id = ? AND account_id = ? AND role = ?`, orgID, memberAccountID, RoleMember)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.NotFound, "error.identity.member_not_found")
		}
		return appendAudit(ctx, tx, "identity.org.member.remove", "organisation", orgID, map[string]any{"member": memberAccountID})
	})
}
