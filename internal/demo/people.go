package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"civitas/internal/db"
)

// Roles are the kinds of demo people PeopleByRole picks, for someone trying
// the platform: a citizen, a guardian (a parent with a child under 14 in
// the household), an officer of the level-2 desk (commune police or
// one-stop officer), and an official of any other post.
var Roles = []string{"citizen", "guardian", "officer", "official"}

// DemoPerson is a demo person picked for a role.
type DemoPerson struct {
	CitizenID  string `json:"citizen_id"`
	FullName   string `json:"full_name"`
	BirthDate  string `json:"birth_date"`
	Phone      string `json:"phone"`
	UnitCode   string `json:"unit_code"`
	HasAccount bool   `json:"has_account"`
	// Guardians: the child under 14.
	ChildID   string `json:"child_citizen_id,omitempty"`
	ChildName string `json:"child_full_name,omitempty"`
	// Officers and officials: the post.
	Role       string `json:"role,omitempty"`
	AgencyCode string `json:"agency_code,omitempty"`
	AgencyName string `json:"agency_name,omitempty"`
}

// deskRoles are the officials who verify people at the level-2 desk.
const deskRoles = `'police_officer', 'one_stop_officer'`

// PeopleByRole lists up to limit demo people for role, by citizen ID.
// Citizens (18 to 65) and guardians (20 to 55) are adults with a phone who hold no
// post and represent no business, so they see the citizen's side only;
// today places the age bounds.
func PeopleByRole(ctx context.Context, tx *db.Tx, role string, today time.Time, limit int) ([]DemoPerson, error) {
	if limit <= 0 {
		limit = 10
	}
	young := today.AddDate(-18, 0, 0).Format(time.DateOnly)
	old := today.AddDate(-65, 0, 0).Format(time.DateOnly)
	child := today.AddDate(-14, 0, 0).Format(time.DateOnly)
	const person = `p.citizen_id, p.full_name, p.birth_date, p.phone, p.unit_code,
		EXISTS (SELECT 1 FROM accounts a WHERE a.citizen_id = p.citizen_id)`
	const plain = ` AND p.phone <> ''
		AND NOT EXISTS (SELECT 1 FROM officials o WHERE o.citizen_id = p.citizen_id)
		AND NOT EXISTS (SELECT 1 FROM businesses b WHERE b.legal_rep_citizen_id = p.citizen_id)`
	var q string
	var args []any
	switch role {
	case "citizen":
		q = `SELECT ` + person + ` FROM persons p WHERE p.birth_date BETWEEN ? AND ?` + plain + ` ORDER BY p.citizen_id LIMIT ?`
		args = []any{old, young, limit}
	case "guardian":
		q = `SELECT ` + person + `, (SELECT c.citizen_id || '|' || c.full_name FROM persons c
			WHERE c.household_id = p.household_id AND c.birth_date > ? ORDER BY c.citizen_id LIMIT 1)
			FROM persons p WHERE p.birth_date BETWEEN ? AND ?` + plain + `
			AND EXISTS (SELECT 1 FROM persons c WHERE c.household_id = p.household_id AND c.birth_date > ?)
			ORDER BY p.citizen_id LIMIT ?`
		args = []any{child, today.AddDate(-55, 0, 0).Format(time.DateOnly), today.AddDate(-20, 0, 0).Format(time.DateOnly), child, limit}
	case "officer", "official":
		in := "IN"
		if role == "official" {
			in = "NOT IN"
		}
		q = `SELECT ` + person + `, o.role, o.agency_code, g.name FROM officials o
			JOIN persons p ON p.citizen_id = o.citizen_id JOIN agencies g ON g.code = o.agency_code
			WHERE o.role ` + in + ` (` + deskRoles + `) ORDER BY p.citizen_id, o.agency_code, o.role LIMIT ?`
		args = []any{limit}
	default:
		return nil, fmt.Errorf("demo: no role %q (one of %s)", role, strings.Join(Roles, ", "))
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("demo: people: %w", err)
	}
	defer rows.Close()
	var out []DemoPerson
	for rows.Next() {
		var p DemoPerson
		dest := []any{&p.CitizenID, &p.FullName, &p.BirthDate, &p.Phone, &p.UnitCode, &p.HasAccount}
		var kid string
		switch role {
		case "guardian":
			dest = append(dest, &kid)
		case "officer", "official":
			dest = append(dest, &p.Role, &p.AgencyCode, &p.AgencyName)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("demo: people: %w", err)
		}
		p.ChildID, p.ChildName, _ = strings.Cut(kid, "|")
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("demo: people: %w", err)
	}
	return out, nil
}
