package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"civitas/internal/registry"
)

// reference is what the province has besides its first units and agencies,
// added later from random sources of its own so that the persons, cards,
// vehicles and officials a seed gave stay as they were: the units'
// boundaries, the residential areas, the agencies of every capability and
// their schools, and the catalogue of registries.
type reference struct {
	boundaries []registry.Boundary
	areas      [][]registry.ResidentialArea // per commune index
	agencies   []registry.Agency            // appended after structure.agencies
	schools    []registry.School
	registries []registry.Registry
	// primary and lower are each commune's schools, upper each district's.
	primary, lower []string
	upper          [][]string
	rings          [][]xy // commune rings, for points inside communes
	plane          plane
}

// department is a provincial department (sở) or office, by code suffix.
type department struct {
	suffix, name string
	kind         registry.AgencyKind
	district     string // the name of its district office ("" when none)
}

var departments = []department{
	{"GDDT", "Sở Giáo dục và Đào tạo ", registry.Education, "Phòng Giáo dục và Đào tạo "},
	{"YT", "Sở Y tế ", registry.Health, "Trung tâm Y tế "},
	{"TNMT", "Sở Tài nguyên và Môi trường ", registry.NaturalResources, "Phòng Tài nguyên và Môi trường "},
	{"GTVT", "Sở Giao thông vận tải ", registry.Transport, ""},
	{"XD", "Sở Xây dựng ", registry.Construction, ""},
	{"LDTBXH", "Sở Lao động - Thương binh và Xã hội ", registry.Labour, "Phòng Lao động - Thương binh và Xã hội "},
	{"TTTT", "Sở Thông tin và Truyền thông ", registry.Information, ""},
	{"KHDT", "Sở Kế hoạch và Đầu tư ", registry.PlanningInvestment, ""},
	{"NV", "Sở Nội vụ ", registry.HomeAffairs, ""},
	{"VPDKDD", "Văn phòng Đăng ký đất đai ", registry.LandRegistration, "Chi nhánh Văn phòng Đăng ký đất đai "},
	{"BVMT", "Chi cục Bảo vệ môi trường ", registry.Environment, ""},
}

// addReference draws the boundaries and residential areas and lists the
// agencies, schools and registries.
func (st *structure) addReference(rng *rand.Rand) {
	ref := &st.ref
	pv := st.prov
	ref.plane = newPlane(pv.centre.Lat)
	pl := ref.plane
	province, districts, communes := mapUnits(rng, st, pl)
	ref.rings = communes
	ref.boundaries = append(ref.boundaries, registry.Boundary{UnitCode: pv.unit(), Polygon: pl.polygon(province)})
	for i, d := range st.districts {
		ref.boundaries = append(ref.boundaries, registry.Boundary{UnitCode: d.Code, Polygon: pl.polygon(districts[i])})
	}
	for i, c := range st.communes {
		ref.boundaries = append(ref.boundaries, registry.Boundary{UnitCode: c.Code, Polygon: pl.polygon(communes[i])})
	}
	for i := range ref.boundaries {
		ref.boundaries[i].BBox = ref.boundaries[i].Polygon.BBox()
	}

	// Residential areas: 10 to 30 a commune; wards have urban groups,
	// communes numbered villages, and the highland districts' communes
	// (the last two) some buôn, remote among them.
	ref.areas = make([][]registry.ResidentialArea, len(st.communes))
	for ci, c := range st.communes {
		di := st.communeDistrict[ci]
		n := 10 + rng.IntN(21)
		highland := di >= len(st.districts)-2
		buon := rng.Perm(len(buonNames))
		for k := range n {
			a := registry.ResidentialArea{Code: fmt.Sprintf("%s%03d", c.Code, k+1), UnitCode: c.Code, Kind: registry.Village,
				Name: fmt.Sprintf("Thôn %d", k+1)}
			switch {
			case st.urban(di):
				a.Kind, a.Name = registry.UrbanGroup, fmt.Sprintf("Tổ dân phố %d", k+1)
			case highland && k >= n/2 && k-n/2 < len(buon):
				a.Name = buonNames[buon[k-n/2]]
				a.Remote = rng.IntN(3) > 0
			}
			a.Centre = pl.from(pointIn(rng, communes[ci]))
			a.Centre.Lat, a.Centre.Lon = round7(a.Centre.Lat), round7(a.Centre.Lon)
			ref.areas[ci] = append(ref.areas[ci], a)
		}
	}

	// The agencies of every capability: provincial departments and their
	// district offices, district service centres, and the schools.
	prov, t := pv.unit(), pv.tag()
	for _, d := range departments {
		ref.agencies = append(ref.agencies, registry.Agency{Code: t + "." + d.suffix, Name: d.name + pv.Name, Kind: d.kind, UnitCode: prov})
	}
	for _, d := range st.districts {
		h := "H" + d.Code + "."
		for _, dp := range departments {
			if dp.district != "" {
				ref.agencies = append(ref.agencies, registry.Agency{Code: h + dp.suffix, Name: dp.district + lowerFirst(d.Name), Kind: dp.kind, UnitCode: d.Code})
			}
		}
		ref.agencies = append(ref.agencies, registry.Agency{Code: h + "HCC", Name: "Trung tâm Hành chính công " + lowerFirst(d.Name), Kind: registry.ServiceCentre, UnitCode: d.Code})
	}
	school := func(code, name string, level registry.SchoolLevel, unit string, ring []xy) {
		ref.agencies = append(ref.agencies, registry.Agency{Code: code, Name: name, Kind: registry.SchoolAgency, UnitCode: unit})
		p := pl.from(pointIn(rng, ring))
		p.Lat, p.Lon = round7(p.Lat), round7(p.Lon)
		ref.schools = append(ref.schools, registry.School{Code: code, Name: name, Level: level, UnitCode: unit, Location: p})
	}
	for ci, c := range st.communes {
		place := c.Name[strings.IndexByte(c.Name, ' ')+1:]
		ref.primary = append(ref.primary, "X"+c.Code+".TH")
		school("X"+c.Code+".TH", "Trường Tiểu học "+place, registry.Primary, c.Code, communes[ci])
		ref.lower = append(ref.lower, "X"+c.Code+".THCS")
		school("X"+c.Code+".THCS", "Trường Trung học cơ sở "+place, registry.LowerSecondary, c.Code, communes[ci])
	}
	ref.upper = make([][]string, len(st.districts))
	for di, d := range st.districts {
		// Two upper secondary schools a district, three in the city; each
		// sits in one of the district's communes.
		var cis []int
		for ci, x := range st.communeDistrict {
			if x == di {
				cis = append(cis, ci)
			}
		}
		n := 2
		if di == 0 {
			n = 3
		}
		place := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(d.Name, "Huyện "), "Thị xã "), "Thành phố ")
		for k := range n {
			ci := cis[(k*len(cis))/n]
			code := fmt.Sprintf("H%s.THPT%d", d.Code, k+1)
			ref.upper[di] = append(ref.upper[di], code)
			school(code, fmt.Sprintf("Trường Trung học phổ thông %s số %d", place, k+1), registry.UpperSecondary, st.communes[ci].Code, communes[ci])
		}
	}

	ref.registries = []registry.Registry{
		{Code: registry.RegistryUnits, Name: "Danh mục đơn vị hành chính", AgencyCode: t + ".NV"},
		{Code: registry.RegistryAgencies, Name: "Cơ sở dữ liệu cơ quan, cán bộ, công chức", AgencyCode: t + ".NV"},
		{Code: registry.RegistryPopulation, Name: "Cơ sở dữ liệu dân cư", AgencyCode: t + ".CA"},
		{Code: registry.RegistryResidence, Name: "Cơ sở dữ liệu về cư trú", AgencyCode: t + ".CA"},
		{Code: registry.RegistryCivilStatus, Name: "Cơ sở dữ liệu hộ tịch điện tử", AgencyCode: t + ".TP"},
		{Code: registry.RegistryLand, Name: "Cơ sở dữ liệu đất đai", AgencyCode: t + ".VPDKDD"},
		{Code: registry.RegistryInsurance, Name: "Cơ sở dữ liệu bảo hiểm", AgencyCode: t + ".BHXH"},
		{Code: registry.RegistryBusiness, Name: "Cơ sở dữ liệu đăng ký doanh nghiệp", AgencyCode: t + ".KHDT"},
		{Code: registry.RegistryVehicles, Name: "Cơ sở dữ liệu đăng ký phương tiện", AgencyCode: t + ".CA"},
		{Code: registry.RegistrySchools, Name: "Cơ sở dữ liệu ngành giáo dục", AgencyCode: t + ".GDDT"},
	}
}

// round7 rounds degrees to seven decimals, as boundaries are stored.
func round7(f float64) float64 { return math.Round(f*1e7) / 1e7 }

// area returns the residential area of commune ci that two draws of the
// household generator pick, so a household's address names its area.
func (st *structure) area(ci, a, b int) *registry.ResidentialArea {
	as := st.ref.areas[ci]
	return &as[(a*15+b)*len(as)/60]
}

// extraRoles are the posts of the capabilities to come: given after every
// post of officialRoles, so that those stay with the persons who held them.
var extraRoles = map[string][]registry.Role{
	"UBND":   {registry.OfficeHead, registry.RecordsClerk, registry.Specialist, registry.RapidResponse},
	"TP":     {registry.RecordsClerk, registry.Specialist},
	"CA":     {registry.RapidResponse},
	"HCC":    {registry.DeputyDirector, registry.RecordsClerk},
	"GDDT":   {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.DepartmentHead, registry.Specialist, registry.RecordsClerk},
	"YT":     {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.Specialist, registry.RecordsClerk},
	"TNMT":   {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.DepartmentHead, registry.Specialist, registry.RecordsClerk},
	"GTVT":   {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.Specialist, registry.RecordsClerk},
	"XD":     {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.Specialist, registry.RecordsClerk},
	"LDTBXH": {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.Specialist, registry.RecordsClerk},
	"TTTT":   {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.DepartmentHead, registry.Specialist, registry.RecordsClerk, registry.RapidResponse, registry.RapidResponse},
	"KHDT":   {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.DepartmentHead, registry.Specialist, registry.RecordsClerk},
	"NV":     {registry.Director, registry.DeputyDirector, registry.OfficeHead, registry.Specialist, registry.RecordsClerk},
	"VPDKDD": {registry.Director, registry.DeputyDirector, registry.Specialist, registry.Specialist, registry.RecordsClerk},
	"BVMT":   {registry.Director, registry.Specialist, registry.RapidResponse},
}

// communeRoles are the extra posts of a commune's people's committee:
// its community digital technology team.
var communeRoles = []registry.Role{registry.CommunityTech, registry.CommunityTech, registry.CommunityTech}
