package registry

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The land registry (đất đai): parcels by commune, map sheet and parcel
// number, with their area and land-use type, their owners (persons or
// enterprises) and the land-use right certificate (sổ đỏ) issued for them.

// LandUses are the land-use type codes of the land law (Luật Đất đai
// 2024; the codes of the cadastral maps) a parcel may have, with their
// Vietnamese names.
var LandUses = map[string]string{
	"ONT": "Đất ở tại nông thôn",
	"ODT": "Đất ở tại đô thị",
	"LUC": "Đất chuyên trồng lúa",
	"LUA": "Đất trồng lúa",
	"HNK": "Đất trồng cây hằng năm khác",
	"CLN": "Đất trồng cây lâu năm",
	"RSX": "Đất rừng sản xuất",
	"RPH": "Đất rừng phòng hộ",
	"NTS": "Đất nuôi trồng thủy sản",
	"SKC": "Đất cơ sở sản xuất phi nông nghiệp",
	"TMD": "Đất thương mại, dịch vụ",
	"DGD": "Đất xây dựng cơ sở giáo dục và đào tạo",
	"DYT": "Đất xây dựng cơ sở y tế",
	"TSC": "Đất xây dựng trụ sở cơ quan",
}

// OwnerKind says who owns a parcel: a person or an enterprise.
type OwnerKind string

// The kinds of land owner.
const (
	OwnerPerson   OwnerKind = "person"   // OwnerID is a citizen ID
	OwnerBusiness OwnerKind = "business" // OwnerID is an enterprise code
)

// LandOwner is a holder of the land-use right of a parcel; spouses hold
// their home's parcel together. JSON: parcel_id, owner_kind (person or
// business), owner_id (a citizen ID or an enterprise code).
type LandOwner struct {
	ParcelID string    `json:"parcel_id"`
	Kind     OwnerKind `json:"owner_kind"`
	OwnerID  string    `json:"owner_id"`
}

// Validate checks an owner's fields.
func (o LandOwner) Validate() error {
	switch o.Kind {
	case OwnerPerson:
		if _, err := ParseCitizenID(o.OwnerID); err != nil {
			return err
		}
	case OwnerBusiness:
		if !ValidRegNumber(o.OwnerID) {
			return kernel.E(kernel.Invalid, "error.registry.bad_reg_number")
		}
	default:
		return kernel.E(kernel.Invalid, "error.registry.bad_parcel")
	}
	if !ValidParcelID(o.ParcelID) {
		return kernel.E(kernel.Invalid, "error.registry.bad_parcel")
	}
	return nil
}

// LandCertificate is a certificate of land-use rights (giấy chứng nhận
// quyền sử dụng đất). JSON: certificate_number (series and serial: "CS
// 123456"), parcel_id, issued_on, agency (the issuing agency: the land
// registration office or a people's committee), cancelled_on (set when a
// transfer replaced it).
type LandCertificate struct {
	Number      string `json:"certificate_number"`
	ParcelID    string `json:"parcel_id"`
	IssuedOn    string `json:"issued_on"`
	AgencyCode  string `json:"agency"`
	CancelledOn string `json:"cancelled_on,omitempty"`
}

var certificateRE = regexp.MustCompile(`^[A-Z]{2} [0-9]{6}$`)

// Validate checks a certificate's fields.
func (c LandCertificate) Validate() error {
	if !certificateRE.MatchString(c.Number) || !ValidParcelID(c.ParcelID) || c.AgencyCode == "" {
		return kernel.E(kernel.Invalid, "error.registry.bad_certificate")
	}
	return validPeriod(c.IssuedOn, c.CancelledOn, "error.registry.bad_certificate")
}

// LandParcel is a parcel of the land registry (thửa đất). JSON: parcel_id
// (commune code, map sheet, parcel number: 31001-012-0345), unit (the
// commune), map_sheet, parcel_number, area_m2, land_use (a code of
// LandUses), address, and, when read, owners and the current certificate.
type LandParcel struct {
	ID           string           `json:"parcel_id"`
	UnitCode     string           `json:"unit"`
	MapSheet     int              `json:"map_sheet"`
	ParcelNumber int              `json:"parcel_number"`
	AreaM2       float64          `json:"area_m2"`
	LandUse      string           `json:"land_use"`
	Address      string           `json:"address"`
	Owners       []LandOwner      `json:"owners,omitempty"`
	Certificate  *LandCertificate `json:"certificate,omitempty"`
}

// ParcelID is the ID of parcel number n of map sheet sheet in a commune.
func ParcelID(unitCode string, sheet, n int) string {
	return fmt.Sprintf("%s-%03d-%04d", unitCode, sheet, n)
}

var parcelIDRE = regexp.MustCompile(`^[0-9]{2,5}-[0-9]{3}-[0-9]{4}$`)

// ValidParcelID reports whether s has the form of a parcel ID.
func ValidParcelID(s string) bool { return parcelIDRE.MatchString(s) }

// Validate checks a parcel's fields (not its owners').
func (p LandParcel) Validate() error {
	if p.ID != ParcelID(p.UnitCode, p.MapSheet, p.ParcelNumber) || p.MapSheet < 1 || p.MapSheet > 999 || p.ParcelNumber < 1 || p.ParcelNumber > 9999 ||
		!(p.AreaM2 > 0 && p.AreaM2 < 1e8) || math.IsNaN(p.AreaM2) || LandUses[p.LandUse] == "" || !validName(p.Address) {
		return kernel.E(kernel.Invalid, "error.registry.bad_parcel")
	}
	return nil
}

const (
	parcelColumns      = "id, unit_code, map_sheet, parcel_number, area_m2, land_use, address"
	certificateColumns = "number, parcel_id, issued_on, agency_code, cancelled_on"
)

func scanParcel(sc interface{ Scan(...any) error }) (LandParcel, error) {
	var p LandParcel
	err := sc.Scan(&p.ID, &p.UnitCode, &p.MapSheet, &p.ParcelNumber, &p.AreaM2, &p.LandUse, &p.Address)
	return p, err
}

func parcelRow(p *LandParcel) []any {
	return []any{p.ID, p.UnitCode, p.MapSheet, p.ParcelNumber, p.AreaM2, p.LandUse, p.Address}
}

func scanCertificate(sc interface{ Scan(...any) error }) (LandCertificate, error) {
	var c LandCertificate
	err := sc.Scan(&c.Number, &c.ParcelID, &c.IssuedOn, &c.AgencyCode, &c.CancelledOn)
	return c, err
}

func certificateRow(c *LandCertificate) []any {
	return []any{c.Number, c.ParcelID, c.IssuedOn, c.AgencyCode, c.CancelledOn}
}

func scanOwner(sc interface{ Scan(...any) error }) (LandOwner, error) {
	var o LandOwner
	err := sc.Scan(&o.ParcelID, &o.Kind, &o.OwnerID)
	return o, err
}

// Parcel returns a parcel with its owners and its current certificate.
func (s *Service) Parcel(ctx context.Context, id string) (LandParcel, error) {
	if !ValidParcelID(id) {
		return LandParcel{}, kernel.E(kernel.Invalid, "error.registry.bad_parcel")
	}
	p, err := one(s.db.QueryRow(ctx, "SELECT "+parcelColumns+" FROM land_parcels WHERE id = ?", id), scanParcel, "error.registry.parcel_not_found", "parcel")
	if err != nil {
		return p, err
	}
	ps := []LandParcel{p}
	if err := s.parcelDetails(ctx, ps, id, id); err != nil {
		return p, err
	}
	return ps[0], nil
}

// ParcelsOf returns the parcels a person (by citizen ID) or an enterprise
// (by enterprise code) holds, with owners and certificates, by ID.
func (s *Service) ParcelsOf(ctx context.Context, ownerID string) ([]LandParcel, error) {
	ps, err := list(ctx, s.db, scanParcel, "parcels", "SELECT p.id, p.unit_code, p.map_sheet, p.parcel_number, p.area_m2, p.land_use, p.address FROM land_parcels p JOIN land_owners o ON o.parcel_id = p.id WHERE o.owner_id = ? ORDER BY p.id", ownerID)
	if err != nil || len(ps) == 0 {
		return ps, err
	}
	for i := range ps {
		if err := s.parcelDetails(ctx, ps[i:i+1], ps[i].ID, ps[i].ID); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// ListParcels lists parcels by ID, after p.After, with their owners and
// certificates.
func (s *Service) ListParcels(ctx context.Context, p kernel.Page) ([]LandParcel, error) {
	p = p.Normalize(100)
	ps, err := list(ctx, s.db, scanParcel, "parcels", "SELECT "+parcelColumns+" FROM land_parcels WHERE id > ? ORDER BY id LIMIT ?", p.After, p.Limit)
	if err != nil || len(ps) == 0 {
		return ps, err
	}
	return ps, s.parcelDetails(ctx, ps, ps[0].ID, ps[len(ps)-1].ID)
}

// LandCertificate returns a certificate by number.
func (s *Service) LandCertificate(ctx context.Context, number string) (LandCertificate, error) {
	return one(s.db.QueryRow(ctx, "SELECT "+certificateColumns+" FROM land_certificates WHERE number = ?", number),
		scanCertificate, "error.registry.certificate_not_found", "certificate")
}

// parcelDetails fills the owners and current certificates of ps, sorted
// by ID from first to last, with one query each.
func (s *Service) parcelDetails(ctx context.Context, ps []LandParcel, first, last string) error {
	at := func(id string) *LandParcel {
		i, ok := slices.BinarySearchFunc(ps, id, func(p LandParcel, id string) int { return strings.Compare(p.ID, id) })
		if !ok {
			return nil
		}
		return &ps[i]
	}
	owners, err := list(ctx, s.db, scanOwner, "land owners", "SELECT parcel_id, owner_kind, owner_id FROM land_owners WHERE parcel_id >= ? AND parcel_id <= ? ORDER BY parcel_id, owner_kind, owner_id", first, last)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if p := at(o.ParcelID); p != nil {
			p.Owners = append(p.Owners, o)
		}
	}
	certs, err := list(ctx, s.db, scanCertificate, "land certificates", "SELECT "+certificateColumns+" FROM land_certificates WHERE parcel_id >= ? AND parcel_id <= ? AND cancelled_on = ''", first, last)
	if err != nil {
		return err
	}
	for i := range certs {
		if p := at(certs[i].ParcelID); p != nil {
			p.Certificate = &certs[i]
		}
	}
	return nil
}

// TransferParcel records a transfer of a parcel's land-use right in the
// caller's transaction (the portal's land procedure): the new owners
// replace the old, the parcel's current certificate is cancelled on the
// new one's issue day, and the new certificate is recorded. Every owner
// must be a living person or an enterprise of the registries.
func TransferParcel(ctx context.Context, tx *db.Tx, parcelID string, owners []LandOwner, cert LandCertificate) error {
	if len(owners) == 0 || len(owners) > 20 {
		return kernel.E(kernel.Invalid, "error.registry.bad_parcel")
	}
	cert.ParcelID, cert.CancelledOn = parcelID, ""
	if err := cert.Validate(); err != nil {
		return err
	}
	if cert.IssuedOn > tx.Now.In(kernel.Zone()).Format(DateLayout) {
		return kernel.E(kernel.Invalid, "error.registry.bad_certificate")
	}
	if _, err := one(tx.QueryRow(ctx, "SELECT "+parcelColumns+" FROM land_parcels WHERE id = ?", parcelID), scanParcel, "error.registry.parcel_not_found", "parcel"); err != nil {
		return err
	}
	if _, err := one(tx.QueryRow(ctx, agencySelect+"WHERE a.code = ?", cert.AgencyCode), scanAgency, "error.registry.agency_not_found", "agency"); err != nil {
		return err
	}
	for i := range owners {
		owners[i].ParcelID = parcelID
		if err := owners[i].Validate(); err != nil {
			return err
		}
		if owners[i].Kind == OwnerPerson {
			if err := livingPerson(ctx, tx, owners[i].OwnerID); err != nil {
				return err
			}
			continue
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM businesses WHERE reg_number = ?", owners[i].OwnerID).Scan(&n); err != nil {
			return kernel.Wrap(err, "registry: read business")
		}
		if n == 0 {
			return kernel.E(kernel.NotFound, "error.registry.business_not_found")
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM land_owners WHERE parcel_id = ?", parcelID); err != nil {
		return kernel.Wrap(err, "registry: remove owners")
	}
	for _, o := range owners {
		if _, err := tx.Exec(ctx, "INSERT INTO land_owners (parcel_id, owner_kind, owner_id) VALUES (?, ?, ?)", o.ParcelID, string(o.Kind), o.OwnerID); err != nil {
			if db.IsUniqueViolation(err) {
				return kernel.E(kernel.Invalid, "error.registry.duplicate_owner").WithCause(err)
			}
			return kernel.Wrap(err, "registry: insert owner")
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE land_certificates SET cancelled_on = ? WHERE parcel_id = ? AND cancelled_on = ''", cert.IssuedOn, parcelID); err != nil {
		return kernel.Wrap(err, "registry: cancel certificate")
	}
	if _, err := tx.Exec(ctx, "INSERT INTO land_certificates ("+certificateColumns+") VALUES (?, ?, ?, ?, ?)", certificateRow(&cert)...); err != nil {
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "error.registry.duplicate_certificate").WithCause(err)
		}
		return kernel.Wrap(err, "registry: insert certificate")
	}
	return nil
}
