package identity

// SQL of guardianships and organisations.

import (
	"context"
	"database/sql"
	"errors"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// guardianLink is a row of guardianships seen from the guardian.
type guardianLink struct{ childCitizenID, relation string }

// findGuardianLinks lists the children an account is recorded guardian of.
func findGuardianLinks(ctx context.Context, tx *db.Tx, accountID string) ([]guardianLink, error) {
	rows, err := tx.Query(ctx, `SELECT dependent_citizen_id, relation FROM guardianships WHERE guardian_account_id = ? ORDER BY dependent_citizen_id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []guardianLink
	for rows.Next() {
		var l guardianLink
		if err := rows.Scan(&l.childCitizenID, &l.relation); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// insertGuardianship records a guardian of a child; a second record of the
// same pair is a Conflict.
func insertGuardianship(ctx context.Context, tx *db.Tx, guardianID, childID, relation, by string) error {
	_, err := tx.Exec(ctx, `INSERT INTO guardianships (guardian_account_id, dependent_citizen_id, relation, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		guardianID, childID, relation, by, kernel.Micros(tx.Now))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "error.identity.already_dependent")
	}
	return err
}

// insertOrganisation stores an organisation account; a second one of a
// registration number is a Conflict.
func insertOrganisation(ctx context.Context, tx *db.Tx, m Membership) error {
	_, err := tx.Exec(ctx, `INSERT INTO organisations (id, reg_number, name, created_at) VALUES (?, ?, ?, ?)`,
		m.ID, m.RegNumber, m.Name, kernel.Micros(tx.Now))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "error.identity.org_exists")
	}
	return err
}

// insertMember adds an account to an organisation; a member twice is a Conflict.
func insertMember(ctx context.Context, tx *db.Tx, orgID, accountID, role, by string) error {
	_, err := tx.Exec(ctx, `INSERT INTO org_members (org_id, account_id, role, added_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		orgID, accountID, role, by, kernel.Micros(tx.Now))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "error.identity.already_member")
	}
	return err
}

// findMemberships lists the organisations an account belongs to, by name.
func findMemberships(ctx context.Context, tx *db.Tx, accountID string) ([]Membership, error) {
	rows, err := tx.Query(ctx, `SELECT o.id, o.reg_number, o.name, m.role FROM org_members m JOIN organisations o ON o.id = m.org_id
		WHERE m.account_id = ? ORDER BY o.name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		var m Membership
		if err := rows.Scan(&m.ID, &m.RegNumber, &m.Name, &m.Role); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// findMemberRole returns an account's role in an organisation, or "" when
// it is no member.
func findMemberRole(ctx context.Context, tx *db.Tx, orgID, accountID string) (string, error) {
	var role string
	err := tx.QueryRow(ctx, `SELECT role FROM org_members WHERE org_id = ? AND account_id = ?`, orgID, accountID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return role, err
}

// findMembers lists an organisation's members, representatives first.
func findMembers(ctx context.Context, tx *db.Tx, orgID string) ([]Member, error) {
	rows, err := tx.Query(ctx, `SELECT a.id, a.citizen_id, m.role FROM org_members m JOIN accounts a ON a.id = m.account_id
		WHERE m.org_id = ? ORDER BY m.role DESC, a.citizen_id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.AccountID, &m.CitizenID, &m.Role); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// deleteMember removes a member of role from an organisation. It reports
// false when there was none.
func deleteMember(ctx context.Context, tx *db.Tx, orgID, accountID, role string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM org_members WHERE org_id = ? AND account_id = ? AND role = ?`, orgID, accountID, role)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
