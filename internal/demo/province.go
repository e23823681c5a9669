package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// ProvinceCode is the default demo province's code: no real province has it.
const ProvinceCode = "099"

// ProvinceName is the default demo province's name.
const ProvinceName = "Tỉnh Sông Xanh"

// Province is a demo province: its code (the three digits citizen IDs
// begin with; its administrative unit is the last two), its names, and
// where it lies. Each province has codes of its own for every unit,
// agency, household, card, plate and enterprise, so two civitas
// installations with different demo provinces never share an identifier.
type Province struct {
	Code string
	Name string
	// districtBase and communeBase start the district and commune codes.
	districtBase, communeBase int
	districts                 []districtName
	communes                  []string // commune names, drawn per district
	// centre and radius (degrees of latitude) place the province; city is
	// the seat of the first district, inside its boundary.
	centre, city registry.Point
	radius       float64
}

// provinces are the demo provinces: codes 097 to 099, which no real
// province uses (citizen IDs of real provinces start 001 to 096), so a demo
// citizen ID can never be a real person's.
var provinces = []Province{
	{Code: "099", Name: ProvinceName, districtBase: 990, communeBase: 31000, districts: districtNames, communes: communeNames,
		// Where Dak Lak lies; the city is Buôn Ma Thuột's place.
		centre: registry.Point{Lat: 12.72, Lon: 108.20}, city: registry.Point{Lat: 12.68, Lon: 108.05}, radius: 0.55},
	{Code: "098", Name: "Tỉnh Đồi Thông", districtBase: 991, communeBase: 41000, districts: districtNames098, communes: communeNames098,
		// North of Sông Xanh, where Gia Lai lies.
		centre: registry.Point{Lat: 13.95, Lon: 108.05}, city: registry.Point{Lat: 13.98, Lon: 108.00}, radius: 0.5},
	{Code: "097", Name: "Tỉnh Biển Bạc", districtBase: 992, communeBase: 51000, districts: districtNames097, communes: communeNames097,
		// South, towards the coast.
		centre: registry.Point{Lat: 11.40, Lon: 108.45}, city: registry.Point{Lat: 11.25, Lon: 108.60}, radius: 0.45},
}

// ProvinceCodes lists the codes Options.Province accepts, the default first.
func ProvinceCodes() []string {
	out := make([]string, len(provinces))
	for i, p := range provinces {
		out[i] = p.Code
	}
	return out
}

// LookupProvince returns the demo province with a code ("" is the default).
func LookupProvince(code string) (Province, error) {
	if code == "" {
		code = ProvinceCode
	}
	i := slices.IndexFunc(provinces, func(p Province) bool { return p.Code == code })
	if i < 0 {
		return Province{}, kernel.E(kernel.Invalid, "error.demo.bad_province", code)
	}
	return provinces[i], nil
}

// unit is the province's administrative unit code: its last two digits.
func (p Province) unit() string { return p.Code[1:] }

// tag is the prefix of the province's agency codes: T99, T98.
func (p Province) tag() string { return "T" + p.unit() }

// structure is the province's units and agencies; it does not depend on the
// population size, only on the seed.
type structure struct {
	prov      Province
	units     []registry.Unit
	communes  []registry.Unit
	districts []registry.Unit
	agencies  []registry.Agency
	// communeDistrict maps a commune index to its district index.
	communeDistrict []int
	// What the province has besides its first units and agencies
	// (reference.go): boundaries, residential areas, more agencies,
	// schools and the catalogue of registries.
	ref reference
}

func buildStructure(r *rand.Rand, pv Province) structure {
	s := structure{prov: pv}
	s.units = append(s.units, registry.Unit{Code: pv.unit(), Name: pv.Name, Level: registry.Province})
	prov := s.units[0].Code
	t := pv.tag()
	s.agencies = append(s.agencies,
		registry.Agency{Code: t + ".TP", Name: "Sở Tư pháp " + pv.Name, Kind: registry.CivilStatus, UnitCode: prov},
		registry.Agency{Code: t + ".CA", Name: "Công an " + pv.Name, Kind: registry.Police, UnitCode: prov},
		registry.Agency{Code: t + ".BHXH", Name: "Bảo hiểm xã hội " + pv.Name, Kind: registry.SocialInsurance, UnitCode: prov},
		registry.Agency{Code: t + ".THUE", Name: "Cục Thuế " + pv.Name, Kind: registry.Tax, UnitCode: prov},
		registry.Agency{Code: t + ".HCC", Name: "Trung tâm Phục vụ hành chính công " + pv.Name, Kind: registry.ServiceCentre, UnitCode: prov},
		registry.Agency{Code: t + ".UBND", Name: "Ủy ban nhân dân " + pv.Name, Kind: registry.PeopleCommittee, UnitCode: prov},
	)
	communeCode := pv.communeBase
	for di, d := range pv.districts {
		dcode := fmt.Sprintf("%03d", pv.districtBase-di*10)
		s.districts = append(s.districts, registry.Unit{Code: dcode, Name: d.name, Level: registry.District, ParentCode: prov})
		for _, a := range []struct {
			suffix, name string
			kind         registry.AgencyKind
		}{
			{"CA", "Công an ", registry.Police},
			{"TP", "Phòng Tư pháp ", registry.CivilStatus},
			{"BHXH", "Bảo hiểm xã hội ", registry.SocialInsurance},
			{"THUE", "Chi cục Thuế ", registry.Tax},
			{"UBND", "Ủy ban nhân dân ", registry.PeopleCommittee},
		} {
			s.agencies = append(s.agencies, registry.Agency{Code: "H" + dcode + "." + a.suffix, Name: a.name + d.name, Kind: a.kind, UnitCode: dcode})
		}
		n := 12 + r.IntN(9)
		names := r.Perm(len(pv.communes))[:n]
		for _, ni := range names {
			communeCode += 1 + r.IntN(6)
			c := registry.Unit{Code: fmt.Sprintf("%05d", communeCode), Name: d.communePrefix + " " + pv.communes[ni], Level: registry.Commune, ParentCode: dcode}
			s.communes = append(s.communes, c)
			s.communeDistrict = append(s.communeDistrict, di)
			s.agencies = append(s.agencies,
				registry.Agency{Code: "X" + c.Code + ".UBND", Name: "Ủy ban nhân dân " + c.Name, Kind: registry.PeopleCommittee, UnitCode: c.Code},
				registry.Agency{Code: "X" + c.Code + ".CA", Name: "Công an " + c.Name, Kind: registry.Police, UnitCode: c.Code},
			)
		}
	}
	s.units = append(s.units, s.districts...)
	s.units = append(s.units, s.communes...)
	return s
}

// urban reports whether a district's communes are wards (a city or a town).
func (s *structure) urban(district int) bool { return district < 2 }

// officialRoles says which roles each agency gets, by the agency code's suffix.
var officialRoles = map[string][]registry.Role{
	"UBND": {registry.Chairman, registry.ViceChairman, registry.OneStopOfficer, registry.OneStopOfficer, registry.CivilClerk},
	"CA":   {registry.Director, registry.PoliceOfficer, registry.PoliceOfficer, registry.PoliceOfficer},
	"TP":   {registry.Director, registry.Officer, registry.CivilClerk},
	"BHXH": {registry.Director, registry.Officer, registry.Officer},
	"THUE": {registry.Director, registry.Officer},
	"HCC":  {registry.Director, registry.OneStopOfficer, registry.OneStopOfficer, registry.OneStopOfficer},
}
