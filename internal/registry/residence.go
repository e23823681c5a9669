package registry

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// AreaKind says what a residential area is.
type AreaKind string

// The kinds of residential area.
const (
	Village    AreaKind = "village"     // thôn, buôn, ấp, bản: in a rural commune
	UrbanGroup AreaKind = "urban_group" // tổ dân phố: in a ward or town
)

// ResidentialArea is a village or an urban residential group inside a
// commune: the unit mobile teams visit and households belong to. JSON:
// code (the commune's code and three digits), name ("Thôn 3", "Buôn Ea
// Kmar", "Tổ dân phố 5"), kind (village or urban_group), unit (the
// commune), centre ({lat, lon}, inside the commune's boundary) and remote
// (true in an area of extreme difficulty, vùng đặc biệt khó khăn).
type ResidentialArea struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Kind     AreaKind `json:"kind"`
	UnitCode string   `json:"unit"`
	Centre   Point    `json:"centre"`
	Remote   bool     `json:"remote,omitempty"`
}

// Validate checks an area's fields.
func (a ResidentialArea) Validate() error {
	if len(a.Code) != len(a.UnitCode)+3 || !isDigits(a.Code) || a.Code[:len(a.UnitCode)] != a.UnitCode ||
		(a.Kind != Village && a.Kind != UrbanGroup) || !a.Centre.Valid() {
		return kernel.E(kernel.Invalid, "error.registry.bad_area")
	}
	if !validName(a.Name) {
		return kernel.E(kernel.Invalid, "error.registry.bad_name")
	}
	return nil
}

const areaColumns = "code, name, kind, unit_code, lat, lon, remote"

func scanArea(sc interface{ Scan(...any) error }) (ResidentialArea, error) {
	var a ResidentialArea
	var remote int
	err := sc.Scan(&a.Code, &a.Name, &a.Kind, &a.UnitCode, &a.Centre.Lat, &a.Centre.Lon, &remote)
	a.Remote = remote != 0
	return a, err
}

func areaRow(a *ResidentialArea) []any {
	return []any{a.Code, a.Name, string(a.Kind), a.UnitCode, a.Centre.Lat, a.Centre.Lon, boolInt(a.Remote)}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Area returns a residential area by code.
func (s *Service) Area(ctx context.Context, code string) (ResidentialArea, error) {
	return one(s.db.QueryRow(ctx, "SELECT "+areaColumns+" FROM residential_areas WHERE code = ?", code),
		scanArea, "error.registry.area_not_found", "area")
}

// AreasIn returns the residential areas of a commune, by code.
func (s *Service) AreasIn(ctx context.Context, unitCode string) ([]ResidentialArea, error) {
	return list(ctx, s.db, scanArea, "areas", "SELECT "+areaColumns+" FROM residential_areas WHERE unit_code = ? ORDER BY code", unitCode)
}

// ListAreas lists residential areas by code, after p.After.
func (s *Service) ListAreas(ctx context.Context, p kernel.Page) ([]ResidentialArea, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanArea, "areas", "SELECT "+areaColumns+" FROM residential_areas WHERE code > ? ORDER BY code LIMIT ?", p.After, p.Limit)
}

// ResidenceKind says whether a residence is permanent or temporary.
type ResidenceKind string

// The kinds of residence (Luật Cư trú).
const (
	Permanent ResidenceKind = "permanent" // thường trú
	Temporary ResidenceKind = "temporary" // tạm trú
)

// Relation is a household member's relation to the household head.
type Relation string

// The relations to the head of household.
const (
	Head        Relation = "head" // chủ hộ
	Spouse      Relation = "spouse"
	Child       Relation = "child"
	Parent      Relation = "parent"
	Grandchild  Relation = "grandchild"
	Sibling     Relation = "sibling"
	Grandparent Relation = "grandparent"
	OtherKin    Relation = "other"
)

var relations = map[Relation]bool{Head: true, Spouse: true, Child: true, Parent: true, Grandchild: true, Sibling: true, Grandparent: true, OtherKin: true}

// Residence is an entry of the residence registry: where a person is
// registered as living, permanently or temporarily, from when until when.
// A person has at most one current entry of each kind; a move closes the
// old entry and opens a new one, so the entries are the person's history.
// JSON: id (the citizen ID, a hyphen, a two-digit sequence), citizen_id,
// kind (permanent or temporary), household_id and relation (to the head;
// a permanent residence is always in a household, a temporary one may be
// a rented room), address, area_code (the residential area), unit (the
// commune), from and until (YYYY-MM-DD; until is the last day, empty while
// the entry holds).
type Residence struct {
	ID          string        `json:"id"`
	CitizenID   string        `json:"citizen_id"`
	Kind        ResidenceKind `json:"kind"`
	HouseholdID string        `json:"household_id,omitempty"`
	Relation    Relation      `json:"relation,omitempty"`
	Address     string        `json:"address"`
	AreaCode    string        `json:"area_code,omitempty"`
	UnitCode    string        `json:"unit"`
	From        string        `json:"from"`
	Until       string        `json:"until,omitempty"`
}

// Validate checks a residence's fields (but its ID, which the registry gives).
func (r Residence) Validate() error {
	if _, err := ParseCitizenID(r.CitizenID); err != nil {
		return err
	}
	switch {
	case r.Kind != Permanent && r.Kind != Temporary,
		r.Kind == Permanent && (r.HouseholdID == "" || r.Relation == ""),
		r.Relation != "" && (!relations[r.Relation] || r.HouseholdID == ""),
		!validName(r.Address), !isDigits(r.UnitCode), r.AreaCode != "" && !isDigits(r.AreaCode):
		return kernel.E(kernel.Invalid, "error.registry.bad_residence")
	}
	return validPeriod(r.From, r.Until, "error.registry.bad_residence")
}

// validPeriod checks a from date and an optional until date not before it.
func validPeriod(from, until, key string) error {
	f, err := time.Parse(DateLayout, from)
	if err != nil {
		return kernel.E(kernel.Invalid, key)
	}
	if until != "" {
		u, err := time.Parse(DateLayout, until)
		if err != nil || u.Before(f) {
			return kernel.E(kernel.Invalid, key)
		}
	}
	return nil
}

// Current reports whether the entry holds on day (YYYY-MM-DD).
func (r Residence) Current(day string) bool {
	return r.From <= day && (r.Until == "" || r.Until >= day)
}

const residenceColumns = "id, citizen_id, kind, household_id, relation, address, area_code, unit_code, from_date, until_date"

func scanResidence(sc interface{ Scan(...any) error }) (Residence, error) {
	var r Residence
	err := sc.Scan(&r.ID, &r.CitizenID, &r.Kind, &r.HouseholdID, &r.Relation, &r.Address, &r.AreaCode, &r.UnitCode, &r.From, &r.Until)
	return r, err
}

func residenceRow(r *Residence) []any {
	return []any{r.ID, r.CitizenID, string(r.Kind), r.HouseholdID, string(r.Relation), r.Address, r.AreaCode, r.UnitCode, r.From, r.Until}
}

// ResidenceID is the ID of a person's n-th residence entry (n from 1).
func ResidenceID(citizenID string, n int) string { return fmt.Sprintf("%s-%02d", citizenID, n) }

// Residences returns a person's residence entries, oldest first; none is
// an empty list.
func (s *Service) Residences(ctx context.Context, citizenID string) ([]Residence, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return nil, err
	}
	return list(ctx, s.db, scanResidence, "residences",
		"SELECT "+residenceColumns+" FROM residences WHERE citizen_id = ? ORDER BY from_date, id", citizenID)
}

// CurrentResidence returns a person's entry of a kind that holds today:
// where they are registered now. NotFound when there is none (most people
// hold no temporary residence).
func (s *Service) CurrentResidence(ctx context.Context, citizenID string, kind ResidenceKind) (Residence, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return Residence{}, err
	}
	today := s.clock.Now().In(kernel.Zone()).Format(DateLayout)
	return one(s.db.QueryRow(ctx, "SELECT "+residenceColumns+" FROM residences WHERE citizen_id = ? AND kind = ? AND from_date <= ? AND (until_date = '' OR until_date >= ?) ORDER BY from_date DESC LIMIT 1",
		citizenID, string(kind), today, today), scanResidence, "error.registry.residence_not_found", "residence")
}

// ListResidences lists residence entries by ID, after p.After.
func (s *Service) ListResidences(ctx context.Context, p kernel.Page) ([]Residence, error) {
	p = p.Normalize(100)
	// The key is (citizen_id, id) and an ID starts with its citizen ID.
	return list(ctx, s.db, scanResidence, "residences", "SELECT "+residenceColumns+" FROM residences WHERE citizen_id >= ? AND id > ? ORDER BY citizen_id, id LIMIT ?",
		p.After[:min(len(p.After), 12)], p.After, p.Limit)
}

// householdSelect reads households with the residential area and the head
// from the head's open permanent residence.
const householdSelect = `SELECT h.id, h.unit_code, h.address, COALESCE(r.area_code, ''), COALESCE(r.citizen_id, '')
	FROM households h LEFT JOIN residences r ON r.household_id = h.id AND r.relation = 'head' AND r.kind = 'permanent' AND r.until_date = '' `

func scanHousehold(sc interface{ Scan(...any) error }) (Household, error) {
	var h Household
	err := sc.Scan(&h.ID, &h.UnitCode, &h.Address, &h.AreaCode, &h.HeadCitizenID)
	return h, err
}

// Household returns a household with its head and residential area.
func (s *Service) Household(ctx context.Context, id string) (Household, error) {
	return one(s.db.QueryRow(ctx, householdSelect+"WHERE h.id = ?", id), scanHousehold, "error.registry.household_not_found", "household")
}

// ListHouseholds lists households by ID, after p.After.
func (s *Service) ListHouseholds(ctx context.Context, p kernel.Page) ([]Household, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanHousehold, "households", householdSelect+"WHERE h.id > ? ORDER BY h.id LIMIT ?", p.After, p.Limit)
}

// HouseholdsIn returns the households of a residential area (those whose
// head lives there), by ID.
func (s *Service) HouseholdsIn(ctx context.Context, areaCode string) ([]Household, error) {
	return list(ctx, s.db, scanHousehold, "households", `SELECT h.id, h.unit_code, h.address, r.area_code, r.citizen_id
		FROM residences r JOIN households h ON h.id = r.household_id
		WHERE r.area_code = ? AND r.relation = 'head' AND r.kind = 'permanent' AND r.until_date = '' ORDER BY h.id`, areaCode)
}

// ContactPhone returns the phone a person is reached on: their own, or
// else that of their household's head or of another adult of the
// household who has one (the elderly and the remote often have no phone of
// their own). NotFound when nobody in the household has a phone.
func (s *Service) ContactPhone(ctx context.Context, citizenID string) (phone string, own bool, err error) {
	p, err := s.Person(ctx, citizenID)
	if err != nil {
		return "", false, err
	}
	if p.Phone != "" {
		return p.Phone, true, nil
	}
	adult := s.clock.Now().AddDate(-18, 0, 0).Format(DateLayout)
	err = s.db.QueryRow(ctx, `SELECT p.phone FROM persons p
		LEFT JOIN residences r ON r.citizen_id = p.citizen_id AND r.household_id = p.household_id AND r.kind = 'permanent' AND r.until_date = ''
		WHERE p.household_id = ? AND p.phone <> '' AND p.birth_date <= ? AND p.died_on = ''
		ORDER BY CASE WHEN r.relation = 'head' THEN 0 ELSE 1 END, p.birth_date LIMIT 1`, p.HouseholdID, adult).Scan(&phone)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, kernel.E(kernel.NotFound, "error.registry.no_contact_phone")
	}
	if err != nil {
		return "", false, kernel.Wrap(err, "registry: contact phone")
	}
	return phone, false, nil
}

// RegisterPermanentResidence registers a person's permanent residence in a
// household, in the caller's transaction (the portal's residence
// procedure): the person's open permanent entry ends the day before r.From,
// the new entry opens, and the population registry's household and commune
// follow. Address, area and commune come from the household when r leaves
// them empty. A household has one head: a second is a Conflict.
func RegisterPermanentResidence(ctx context.Context, tx *db.Tx, r Residence) (Residence, error) {
	r.Kind = Permanent
	if r.HouseholdID != "" {
		var unit, address, area string
		err := tx.QueryRow(ctx, `SELECT h.unit_code, h.address, COALESCE((SELECT area_code FROM residences WHERE household_id = h.id AND kind = 'permanent' AND until_date = '' ORDER BY CASE WHEN relation = 'head' THEN 0 ELSE 1 END LIMIT 1), '')
			FROM households h WHERE h.id = ?`, r.HouseholdID).Scan(&unit, &address, &area)
		if errors.Is(err, sql.ErrNoRows) {
			return r, kernel.E(kernel.NotFound, "error.registry.household_not_found")
		}
		if err != nil {
			return r, kernel.Wrap(err, "registry: read household")
		}
		r.UnitCode, r.Address = cmp.Or(r.UnitCode, unit), cmp.Or(r.Address, address)
		r.AreaCode = cmp.Or(r.AreaCode, area)
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	if err := livingPerson(ctx, tx, r.CitizenID); err != nil {
		return r, err
	}
	if r.Relation == Head {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM residences WHERE household_id = ? AND relation = 'head' AND kind = 'permanent' AND until_date = '' AND citizen_id <> ?",
			r.HouseholdID, r.CitizenID).Scan(&n); err != nil {
			return r, kernel.Wrap(err, "registry: household head")
		}
		if n > 0 {
			return r, kernel.E(kernel.Conflict, "error.registry.household_has_head")
		}
	}
	from, _ := time.Parse(DateLayout, r.From)
	if err := closeResidences(ctx, tx, r.CitizenID, Permanent, from.AddDate(0, 0, -1).Format(DateLayout)); err != nil {
		return r, err
	}
	if err := insertResidence(ctx, tx, &r); err != nil {
		return r, err
	}
	if _, err := tx.Exec(ctx, "UPDATE persons SET household_id = ?, unit_code = ?, updated_at = ? WHERE citizen_id = ?",
		r.HouseholdID, r.UnitCode, kernel.Micros(tx.Now), r.CitizenID); err != nil {
		return r, kernel.Wrap(err, "registry: move person")
	}
	return r, nil
}

// RegisterTemporaryResidence registers a temporary residence, in the
// caller's transaction: it must end (the law allows two years at a time,
// renewable); it replaces the person's open temporary entry, if any.
func RegisterTemporaryResidence(ctx context.Context, tx *db.Tx, r Residence) (Residence, error) {
	r.Kind = Temporary
	if err := r.Validate(); err != nil {
		return r, err
	}
	from, _ := time.Parse(DateLayout, r.From)
	if r.Until == "" || r.Until > from.AddDate(2, 0, 0).Format(DateLayout) {
		return r, kernel.E(kernel.Invalid, "error.registry.temporary_too_long")
	}
	if err := livingPerson(ctx, tx, r.CitizenID); err != nil {
		return r, err
	}
	if err := closeResidences(ctx, tx, r.CitizenID, Temporary, from.AddDate(0, 0, -1).Format(DateLayout)); err != nil {
		return r, err
	}
	return r, insertResidence(ctx, tx, &r)
}

// closeResidences ends a person's open entries of a kind on day (or on
// their first day, if that is later).
func closeResidences(ctx context.Context, tx *db.Tx, citizenID string, kind ResidenceKind, day string) error {
	if _, err := tx.Exec(ctx, `UPDATE residences SET until_date = CASE WHEN from_date > ? THEN from_date ELSE ? END
		WHERE citizen_id = ? AND kind = ? AND (until_date = '' OR until_date > ?)`, day, day, citizenID, string(kind), day); err != nil {
		return kernel.Wrap(err, "registry: close residence")
	}
	return nil
}

func insertResidence(ctx context.Context, tx *db.Tx, r *Residence) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM residences WHERE citizen_id = ?", r.CitizenID).Scan(&n); err != nil {
		return kernel.Wrap(err, "registry: count residences")
	}
	r.ID = ResidenceID(r.CitizenID, n+1)
	if _, err := tx.Exec(ctx, "INSERT INTO residences ("+residenceColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", residenceRow(r)...); err != nil {
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "error.registry.concurrent_change").WithCause(err)
		}
		return kernel.Wrap(err, "registry: insert residence")
	}
	return nil
}

// livingPerson is NotFound when nobody has the citizen ID and Conflict when
// the person has died.
func livingPerson(ctx context.Context, tx *db.Tx, citizenID string) error {
	var died string
	err := tx.QueryRow(ctx, "SELECT died_on FROM persons WHERE citizen_id = ?", citizenID).Scan(&died)
	if errors.Is(err, sql.ErrNoRows) {
		return kernel.E(kernel.NotFound, "error.registry.person_not_found")
	}
	if err != nil {
		return kernel.Wrap(err, "registry: read person")
	}
	if died != "" {
		return kernel.E(kernel.Conflict, "error.registry.person_deceased")
	}
	return nil
}
