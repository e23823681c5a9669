package demo

import (
	"fmt"
	"math/rand/v2"

	"civitas/internal/registry"
)

// ProvinceCode is the demo province's code: no real province has it.
const ProvinceCode = "099"

// ProvinceName is the demo province's name.
const ProvinceName = "Tỉnh Sông Xanh"

// structure is the province's units and agencies; it does not depend on the
// population size, only on the seed.
type structure struct {
	units     []registry.Unit
	communes  []registry.Unit
	districts []registry.Unit
	agencies  []registry.Agency
	// communeDistrict maps a commune index to its district index.
	communeDistrict []int
}

func buildStructure(r *rand.Rand) structure {
	var s structure
	s.units = append(s.units, registry.Unit{Code: ProvinceCode[1:], Name: ProvinceName, Level: registry.Province})
	prov := s.units[0].Code
	s.agencies = append(s.agencies,
		registry.Agency{Code: "T99.TP", Name: "Sở Tư pháp " + ProvinceName, Kind: registry.CivilStatus, UnitCode: prov},
		registry.Agency{Code: "T99.CA", Name: "Công an " + ProvinceName, Kind: registry.Police, UnitCode: prov},
		registry.Agency{Code: "T99.BHXH", Name: "Bảo hiểm xã hội " + ProvinceName, Kind: registry.SocialInsurance, UnitCode: prov},
		registry.Agency{Code: "T99.THUE", Name: "Cục Thuế " + ProvinceName, Kind: registry.Tax, UnitCode: prov},
		registry.Agency{Code: "T99.HCC", Name: "Trung tâm Phục vụ hành chính công " + ProvinceName, Kind: registry.ServiceCentre, UnitCode: prov},
		registry.Agency{Code: "T99.UBND", Name: "Ủy ban nhân dân " + ProvinceName, Kind: registry.PeopleCommittee, UnitCode: prov},
	)
	communeCode := 31000
	for di, d := range districtNames {
		dcode := fmt.Sprintf("%03d", 990-di*10)
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
		names := r.Perm(len(communeNames))[:n]
		for _, ni := range names {
			communeCode += 1 + r.IntN(6)
			c := registry.Unit{Code: fmt.Sprintf("%05d", communeCode), Name: d.communePrefix + " " + communeNames[ni], Level: registry.Commune, ParentCode: dcode}
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

// officialRoles says which roles each agency gets, by the agency code's suffix.
var officialRoles = map[string][]registry.Role{
	"UBND": {registry.Chairman, registry.ViceChairman, registry.OneStopOfficer, registry.OneStopOfficer, registry.CivilClerk},
	"CA":   {registry.Director, registry.PoliceOfficer, registry.PoliceOfficer, registry.PoliceOfficer},
	"TP":   {registry.Director, registry.Officer, registry.CivilClerk},
	"BHXH": {registry.Director, registry.Officer, registry.Officer},
	"THUE": {registry.Director, registry.Officer},
	"HCC":  {registry.Director, registry.OneStopOfficer, registry.OneStopOfficer, registry.OneStopOfficer},
}
