package demo

import (
	"fmt"
	"strings"

	"civitas/internal/registry"
)

// The demo's businesses besides the first enterprises: household
// businesses of heads of household, more enterprises founded by some, and
// the participant group of every health-insurance card.

// tradeActivities are the main lines (VSIC 2018) of the first
// enterprises, by trade (trades).
var tradeActivities = []string{
	"4690 Bán buôn tổng hợp",
	"4620 Bán buôn nông, lâm sản nguyên liệu",
	"4101 Xây dựng nhà để ở",
	"4933 Vận tải hàng hóa bằng đường bộ",
	"8299 Hoạt động dịch vụ hỗ trợ kinh doanh khác",
	"1410 May trang phục",
}

// shops are household businesses: a name to put before the owner's given
// name and the main line.
var shops = []struct{ name, activity string }{
	{"Tạp hóa", "4711 Bán lẻ lương thực, thực phẩm trong cửa hàng kinh doanh tổng hợp"},
	{"Quán cơm", "5610 Nhà hàng và các dịch vụ ăn uống phục vụ lưu động"},
	{"Cà phê", "5630 Dịch vụ phục vụ đồ uống"},
	{"Tiệm tóc", "9631 Cắt tóc, làm đầu, gội đầu"},
	{"Sửa xe", "4542 Bảo dưỡng và sửa chữa mô tô, xe máy"},
	{"Thời trang", "4771 Bán lẻ hàng may mặc trong các cửa hàng chuyên doanh"},
	{"Vật liệu xây dựng", "4752 Bán lẻ đồ ngũ kim, sơn, kính và thiết bị lắp đặt khác trong xây dựng"},
	{"Đại lý nông sản", "4620 Bán buôn nông, lâm sản nguyên liệu"},
}

// enterpriseKinds are the legal forms of founded enterprises, by weight,
// with how a name starts.
var enterpriseKinds = []struct {
	kind   registry.EnterpriseKind
	weight int
	prefix string
}{
	{registry.SingleMemberLLC, 45, "Công ty TNHH MTV"}, {registry.MultiMemberLLC, 20, "Công ty TNHH"},
	{registry.JointStock, 15, "Công ty Cổ phần"}, {registry.PrivateFirm, 10, "Doanh nghiệp tư nhân"},
	{registry.Cooperative, 10, "Hợp tác xã"},
}

// participations gives each card of the household its participant group.
func (g *generator) participations(c *chunk, ms []member, cards0 int, a *registry.ResidentialArea) {
	r := g.src.business
	ages := make(map[string]int, len(ms))
	for _, m := range ms {
		ages[c.persons[m.i].CitizenID] = m.age
	}
	for _, card := range c.cards[cards0:] {
		age := ages[card.CitizenID]
		kind := "GD"
		switch x := r.IntN(100); {
		case a.Remote && x < 80:
			kind = "DT"
		case age >= 80 && x < 20:
			kind = "BT"
		case age >= 60 && x < 45:
			kind = "HT"
		case age >= 60:
		case age <= 22 && x < 45:
			kind = "SV"
		case x < 22:
			kind = "DN"
		case x < 28:
			kind = "HC"
		case x < 32:
			kind = "HN"
		case x < 35:
			kind = "CN"
		case x < 37:
			kind = "CC"
		}
		c.records.Participations = append(c.records.Participations, registry.Participation{CardNumber: card.CardNumber, Kind: kind})
	}
}

// householdBusiness lets some heads of working age register a household
// business with the district, and a few found an enterprise.
func (g *generator) householdBusiness(c *chunk, home registry.Household, ci, di int, head member, p *registry.Person) {
	r := g.src.business
	if head.age < 25 || head.age > 65 {
		return
	}
	share := 7
	if g.st.urban(di) {
		share = 15
	}
	if r.IntN(100) < share {
		d := g.st.districts[di].Code
		g.recs.hhb[d]++
		shop := shops[r.IntN(len(shops))]
		given := p.FullName[strings.LastIndexByte(p.FullName, ' ')+1:]
		on := later(days(refDate, -r.IntN(15*365)), parse(p.BirthDate).AddDate(20, 0, 0))
		status := registry.Active
		switch x := r.IntN(100); {
		case x < 2:
			status = registry.Dissolved
		case x < 8:
			status = registry.Suspended
		}
		c.records.HouseholdBusinesses = append(c.records.HouseholdBusinesses, registry.HouseholdBusiness{
			RegNumber: fmt.Sprintf("%sA8%06d", d, g.recs.hhb[d]), Name: shop.name + " " + given, OwnerCitizenID: p.CitizenID,
			UnitCode: home.UnitCode, Address: home.Address, Activity: shop.activity, RegisteredOn: date(on),
			AgencyCode: "H" + d + ".UBND", Status: status})
	}
	if head.age >= 28 && r.IntN(100) < 2 {
		g.recs.founders = append(g.recs.founders, founder{citizenID: p.CitizenID, commune: ci, born: parse(p.BirthDate)})
	}
}

// seat is an enterprise's address in a commune: its first residential area.
func (g *generator) seat(c registry.Unit) string {
	ci := g.communeIndex(c.Code)
	a := &g.st.ref.areas[ci][0]
	return fmt.Sprintf("Số %d, %s, %s, %s, %s", 1+len(c.Code)*7, a.Name, c.Name, g.st.districts[g.st.communeDistrict[ci]].Name, g.st.prov.Name)
}

// enterprises registers the enterprises founders set up, with the
// province's department of planning and investment.
func (g *generator) enterprises() []registry.Business {
	r := g.src.business
	var out []registry.Business
	for i, f := range g.recs.founders {
		c := g.st.communes[f.commune]
		x := r.IntN(100)
		k := enterpriseKinds[0]
		for _, e := range enterpriseKinds {
			if x < e.weight {
				k = e
				break
			}
			x -= e.weight
		}
		t := r.IntN(len(trades))
		place := c.Name[strings.IndexByte(c.Name, ' ')+1:]
		a := &g.st.ref.areas[f.commune][r.IntN(len(g.st.ref.areas[f.commune]))]
		out = append(out, registry.Business{
			RegNumber:         fmt.Sprintf("%s%08d", g.st.prov.unit(), 200000+(i+1)*41),
			Name:              fmt.Sprintf("%s %s %s %d", k.prefix, trades[t], place, i+1),
			LegalRepCitizenID: f.citizenID,
			UnitCode:          c.Code,
			RegisteredOn:      date(later(days(refDate, -1-r.IntN(20*365)), f.born.AddDate(21, 0, 0))),
			Kind:              k.kind,
			Address:           g.address(r, f.commune, a),
			Activity:          tradeActivities[t],
			Status:            registry.Active,
			AgencyCode:        g.st.prov.tag() + ".KHDT",
		})
	}
	return out
}
