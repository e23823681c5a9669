package wallet_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/wallet"
)

// adultWhere returns the first demo adult (by citizen ID) who is no
// official nor legal representative and matches cond, an SQL condition on
// p (persons).
func (e *env) adultWhere(cond string) registry.Person {
	e.t.Helper()
	var id string
	err := e.d.QueryRow(e.ctx, `SELECT p.citizen_id FROM persons p WHERE p.birth_date < ? AND `+cond+`
		AND p.citizen_id NOT IN (SELECT citizen_id FROM officials) AND p.citizen_id NOT IN (SELECT legal_rep_citizen_id FROM businesses)
		ORDER BY p.citizen_id LIMIT 1`, e.clock.Now().AddDate(-20, 0, 0).Format(time.DateOnly)).Scan(&id)
	if err != nil {
		e.t.Fatalf("no demo adult with %s: %v", cond, err)
	}
	p, err := e.reg.Person(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// vietnamMidnight is the start of the day after date, in Vietnam: when a
// card valid through date stops being valid.
func vietnamMidnight(t *testing.T, date string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, date, time.FixedZone("UTC+7", 7*3600))
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, 1)
}

// A citizen pulls their health-insurance card: the claims are the
// registry's, shown as received and not editable, the document expires
// when the card does, and it is issued by the social insurance of their
// district. A second pull issues nothing; a person without a card, or
// whose card has ended, is told so.
func TestPullInsuranceCard(t *testing.T) {
	s := newWalletSite(t)
	p := s.adultWhere(`p.citizen_id IN (SELECT citizen_id FROM insurance_cards)`)
	card, err := s.reg.InsuranceCard(s.ctx, p.CitizenID)
	if err != nil {
		t.Fatal(err)
	}
	noCard := s.adultWhere(`p.citizen_id NOT IN (SELECT citizen_id FROM insurance_cards)`)
	holder, without := s.client(s.account(p.CitizenID).ID), s.client(s.account(noCard.CitizenID).ID)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	pull := url.Values{"holder": {"self"}, "type": {"health_insurance_card"}}

	runSteps(t, []pageStep{
		{name: "ok/the wallet offers to pull the card", who: holder, path: "/wallet", status: http.StatusOK, has: []string{`value="health_insurance_card"`}},
		{name: "ok/pull the card from the insurance registry", who: holder, method: http.MethodPost, path: "/wallet/pull", form: pull,
			status: http.StatusSeeOther, has: []string{"done=pulled"}},
		{name: "ok/a second pull issues nothing and says so", who: holder, method: http.MethodPost, path: "/wallet/pull", form: pull,
			status: http.StatusSeeOther, has: []string{"done=already"}},
		{name: "fail/a person with no card is sent back to the wallet", who: without, method: http.MethodPost, path: "/wallet/pull", form: pull,
			status: http.StatusSeeOther, has: []string{"done=none"}},
		{name: "fail/and told there that the registry holds none", who: without, path: "/wallet?done=none", status: http.StatusOK,
			has: []string{"Cơ sở dữ liệu không lưu giấy tờ loại này của bạn"}},
		{name: "fail/in English too", who: without, path: "/wallet?done=none&lang=en", status: http.StatusOK,
			has: []string{"The registry holds no document of this type for you"}},
	})

	docs, err := s.w.Documents(s.ctx, h, false)
	if err != nil || len(docs) != 1 || docs[0].Type != "health_insurance_card" {
		t.Fatalf("documents after two pulls: %+v %v", docs, err)
	}
	doc, err := s.w.Document(s.ctx, h, docs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"card_number": card.CardNumber, "full_name": p.FullName, "birth_date": p.BirthDate, "sex": string(p.Sex),
		"hospital": card.Hospital}
	if card.BenefitLevel != "" {
		want["benefit_level"] = card.BenefitLevel
	}
	if len(doc.Claims) != len(want) {
		t.Fatalf("claims %v, want %v", doc.Claims, want)
	}
	for k, v := range want {
		if doc.Claims[k] != v {
			t.Errorf("claim %s = %v, the registry says %v", k, doc.Claims[k], v)
		}
	}
	if end := vietnamMidnight(t, card.ValidTo); !doc.ExpiresAt.Equal(end) {
		t.Errorf("expires %v; the card is valid through %s", doc.ExpiresAt, card.ValidTo)
	}
	v, err := sdjwt.Verify(s.ctx, doc.Credential, sdjwt.VerifyOptions{Key: s.w.IssuerKey, Now: s.clock.Now()})
	if err != nil || !v.Expiry.Equal(doc.ExpiresAt) || v.Claims["card_number"] != card.CardNumber {
		t.Fatalf("credential: exp %v, claims %v, %v", v.Expiry, v.Claims, err)
	}
	a, _ := s.reg.Agency(s.ctx, doc.Agency)
	u, _ := s.reg.Unit(s.ctx, p.UnitCode)
	if a.Kind != registry.SocialInsurance || a.UnitCode != u.ParentCode {
		t.Errorf("issued by %+v; the holder lives in %+v", a, u)
	}

	runSteps(t, []pageStep{
		{name: "ok/the card reads as received, with no way to edit it", who: holder, path: "/wallet/" + doc.ID, status: http.StatusOK,
			has:   []string{`class="claim-card_number"><bdi>` + card.CardNumber, `class="claim-hospital"><bdi>` + card.Hospital, `id="doc-correction"`},
			lacks: []string{`name="claim.`, `value="` + card.CardNumber}},
	})

	// A card that has ended is not made into a document born expired.
	ended := registry.InsuranceCard{CardNumber: "9999999901", CitizenID: noCard.CitizenID, Hospital: "Trạm Y tế phường Hòa Bình",
		ValidFrom: "2020-01-01", ValidTo: s.clock.Now().AddDate(0, 0, -2).Format(time.DateOnly)}
	if err := s.reg.AddInsuranceCards(s.ctx, []registry.InsuranceCard{ended}); err != nil {
		t.Fatal(err)
	}
	_, err = s.w.Pull(s.ctx, s.reg, wallet.Holder{Kind: wallet.HolderPerson, ID: noCard.CitizenID}, "health_insurance_card")
	if k, _ := kernel.ErrorKey(err); kernel.ErrorCode(err) != kernel.Conflict || k != "wallet.error.record_expired" {
		t.Fatalf("pull of an ended card: %v", err)
	}

	// Nor is a card whose validity has not begun: the holder is told when.
	later := s.adultWhere(`p.citizen_id NOT IN (SELECT citizen_id FROM insurance_cards)`)
	start := s.clock.Now().AddDate(0, 0, 10)
	future := registry.InsuranceCard{CardNumber: "9999999902", CitizenID: later.CitizenID, Hospital: "Trạm Y tế phường Hòa Bình",
		ValidFrom: start.Format(time.DateOnly), ValidTo: start.AddDate(1, 0, 0).Format(time.DateOnly)}
	if err := s.reg.AddInsuranceCards(s.ctx, []registry.InsuranceCard{future}); err != nil {
		t.Fatal(err)
	}
	_, err = s.w.Pull(s.ctx, s.reg, wallet.Holder{Kind: wallet.HolderPerson, ID: later.CitizenID}, "health_insurance_card")
	if k, args := kernel.ErrorKey(err); kernel.ErrorCode(err) != kernel.Conflict || k != "wallet.error.record_not_yet_valid" ||
		len(args) != 1 || args[0] != start.Format("02/01/2006") { // the day ValidFrom names
		t.Fatalf("pull of a card not valid yet: %v", err)
	}
	laterClient := s.client(s.account(later.CitizenID).ID)
	runSteps(t, []pageStep{
		{name: "fail/the page says the card is not valid yet", who: laterClient, method: http.MethodPost, path: "/wallet/pull", form: pull,
			status: http.StatusSeeOther, has: []string{"done=record_future"}},
	})
}

// A person owning two vehicles pulls both in one go; a second pull is a
// Conflict; a vehicle registered later, or one whose document was revoked,
// is pulled alone; someone owning none is told so.
func TestPullVehicles(t *testing.T) {
	e := newEnv(t)
	p := e.adultWhere(`p.citizen_id NOT IN (SELECT owner_citizen_id FROM vehicles)`)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	bike := registry.Vehicle{Plate: "99-B1 900.02", OwnerCitizenID: p.CitizenID, Make: "Honda", Model: "Vision", Colour: "Đỏ", RegisteredOn: "2022-02-22"}
	car := registry.Vehicle{Plate: "99A-900.01", OwnerCitizenID: p.CitizenID, Make: "VinFast", Model: "VF 5", RegisteredOn: "2024-04-04"}
	if err := e.reg.AddVehicles(e.ctx, []registry.Vehicle{bike, car}); err != nil {
		t.Fatal(err)
	}
	plates := func(docs []wallet.Detailed) []string {
		var out []string
		for _, d := range docs {
			out = append(out, d.Claims["plate"].(string))
		}
		slices.Sort(out)
		return out
	}
	// Vehicle registrations are offered while a vehicle has none.
	offered := func(h wallet.Holder) bool {
		t.Helper()
		types, err := e.w.Pullable(e.ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(types, func(x wallet.Type) bool { return x.Code == "vehicle_registration" })
	}
	if !offered(h) {
		t.Error("vehicle registrations are not offered to the owner of two vehicles holding none")
	}
	got, err := e.w.Pull(e.ctx, e.reg, h, "vehicle_registration")
	if err != nil || !slices.Equal(plates(got), []string{"99A-900.01", "99B1-900.02"}) {
		t.Fatalf("first pull: %v %v", plates(got), err)
	}
	for _, d := range got {
		want := car
		if d.Claims["plate"] == "99B1-900.02" {
			want = bike
		}
		if d.Claims["make"] != want.Make || d.Claims["model"] != want.Model || d.Claims["registered_on"] != want.RegisteredOn ||
			d.Claims["full_name"] != p.FullName || (want.Colour == "") != (d.Claims["colour"] == nil) {
			t.Errorf("claims %v, the registry says %+v", d.Claims, want)
		}
		if !d.ExpiresAt.IsZero() {
			t.Errorf("a vehicle registration expires %v", d.ExpiresAt)
		}
		if a, _ := e.reg.Agency(e.ctx, d.Agency); a.Kind != registry.Police {
			t.Errorf("issued by %+v", a)
		}
	}
	if _, err := e.w.Pull(e.ctx, e.reg, h, "vehicle_registration"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("second pull with both held: %v", err)
	}

	if offered(h) {
		t.Error("vehicle registrations are still offered with both vehicles held")
	}

	third := registry.Vehicle{Plate: "99A-900.03", OwnerCitizenID: p.CitizenID, Make: "Kia", Model: "Morning", RegisteredOn: "2025-05-05"}
	if err := e.reg.AddVehicles(e.ctx, []registry.Vehicle{third}); err != nil {
		t.Fatal(err)
	}
	if !offered(h) {
		t.Error("vehicle registrations are not offered once a third vehicle has none")
	}
	if got, err := e.w.Pull(e.ctx, e.reg, h, "vehicle_registration"); err != nil || !slices.Equal(plates(got), []string{"99A-900.03"}) {
		t.Fatalf("pull after a third vehicle: %v %v", plates(got), err)
	}
	if _, err := e.w.Pull(e.ctx, e.reg, h, "vehicle_registration"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("pull with all three held: %v", err)
	}
	revoked := got[0]
	if revoked.Claims["plate"] != "99A-900.01" {
		revoked = got[1]
	}
	if err := e.w.SetStatus(e.ctx, revoked.Agency, revoked.ID, wallet.StatusRevoked, "error"); err != nil {
		t.Fatal(err)
	}
	if again, err := e.w.Pull(e.ctx, e.reg, h, "vehicle_registration"); err != nil || !slices.Equal(plates(again), []string{"99A-900.01"}) {
		t.Fatalf("pull after a revocation: %v %v", plates(again), err)
	}
	docs, _ := e.w.Documents(e.ctx, h, true)
	if len(docs) != 4 {
		t.Fatalf("%d documents: two, a third, and one re-issued", len(docs))
	}

	nobody := wallet.Holder{Kind: wallet.HolderPerson, ID: e.adultWhere(`p.citizen_id NOT IN (SELECT owner_citizen_id FROM vehicles)`).CitizenID}
	if offered(nobody) {
		t.Error("vehicle registrations are offered to someone owning no vehicle")
	}
	if _, err := e.w.Pull(e.ctx, e.reg, nobody, "vehicle_registration"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("pull by someone owning no vehicle: %v", err)
	}
}

// An agency issues a vehicle registration from the registry: the owner's
// only vehicle, or the one Record names among several, never another
// person's; a record means nothing to other types or with claims given.
func TestIssueFromVehicleRegistry(t *testing.T) {
	e := newEnv(t)
	police, insurance := e.agency(registry.Police), e.agency(registry.SocialInsurance)
	one := e.adultWhere(`p.citizen_id NOT IN (SELECT owner_citizen_id FROM vehicles)`)
	if err := e.reg.AddVehicles(e.ctx, []registry.Vehicle{{Plate: "99A-900.10", OwnerCitizenID: one.CitizenID, Make: "Toyota", Model: "Vios", RegisteredOn: "2020-01-01"}}); err != nil {
		t.Fatal(err)
	}
	two := e.adultWhere(`p.citizen_id NOT IN (SELECT owner_citizen_id FROM vehicles)`)
	if err := e.reg.AddVehicles(e.ctx, []registry.Vehicle{
		{Plate: "99A-900.20", OwnerCitizenID: two.CitizenID, Make: "Ford", Model: "Ranger", RegisteredOn: "2021-01-01"},
		{Plate: "99B2-900.21", OwnerCitizenID: two.CitizenID, Make: "Yamaha", Model: "Exciter", RegisteredOn: "2022-01-01"},
	}); err != nil {
		t.Fatal(err)
	}
	carded := e.adultWhere(`p.citizen_id IN (SELECT citizen_id FROM insurance_cards) AND p.citizen_id NOT IN (SELECT owner_citizen_id FROM vehicles)`)
	person := func(p registry.Person) wallet.Holder {
		return wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	}
	for _, tc := range []struct {
		name  string
		in    wallet.Issuance
		plate string
		key   string
	}{
		{"ok/the only vehicle", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(one)}, "99A-900.10", ""},
		{"ok/one of two, its plate written loosely", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(two), Record: "99-b2 90021"}, "99B2-900.21", ""},
		{"fail/one of two, unnamed", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(two)}, "", "wallet.error.choose_vehicle"},
		{"fail/another person's vehicle", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(two), Record: "99A-900.10"}, "", "wallet.error.not_their_vehicle"},
		{"fail/a plate nobody has", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(two), Record: "99A-999.99"}, "", "wallet.error.not_their_vehicle"},
		{"fail/not a plate", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(two), Record: "nothing"}, "", "error.registry.bad_plate"},
		{"fail/no vehicle at all", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(carded)}, "", "wallet.error.no_vehicle"},
		{"fail/a record for a type with one per person", wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: person(carded), Record: "99A-900.10"}, "", "wallet.error.record_not_used"},
		{"fail/a record with claims given", wallet.Issuance{Agency: police, Type: "vehicle_registration", Holder: person(one), Record: "99A-900.10",
			Claims: map[string]any{"plate": "99A-900.10", "full_name": one.FullName, "make": "Toyota", "model": "Vios", "registered_on": "2020-01-01"}}, "", "wallet.error.record_not_used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.w.Issue(e.ctx, tc.in)
			if tc.key != "" {
				if k, _ := kernel.ErrorKey(err); k != tc.key {
					t.Fatalf("got %v, want %s", err, tc.key)
				}
				return
			}
			if err != nil || d.Claims["plate"] != tc.plate {
				t.Fatalf("issued %v, %v", d.Claims, err)
			}
		})
	}
	// Issued from the registry, the card expires when the registry's does.
	card, _ := e.reg.InsuranceCard(e.ctx, carded.CitizenID)
	d, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: person(carded)})
	if err != nil || d.Claims["card_number"] != card.CardNumber || !d.ExpiresAt.Equal(vietnamMidnight(t, card.ValidTo)) {
		t.Fatalf("card from the registry: %v expires %v, %v", d.Claims, d.ExpiresAt, err)
	}
}

// The health-insurance and vehicle registries hold documents of persons:
// the built-in types name them, and a type of an organisation may not.
func TestRegistrySources(t *testing.T) {
	c, err := wallet.LoadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	for code, source := range map[string]string{"health_insurance_card": wallet.SourceInsurance, "vehicle_registration": wallet.SourceVehicles} {
		if ty, err := c.Type(code); err != nil || ty.Source != source {
			t.Errorf("%s: source %q, %v", code, ty.Source, err)
		}
	}
	base := `{"code": "boat_licence", "names": {"vi": "Giấy phép tàu", "en": "Boat licence", "ar": "رخصة القارب"},
		"holder": "HOLDER", "issuers": ["police"], "validity": "", "offline": false, "source": "SOURCE",
		"claims": [{"name": "plate", "type": "string", "required": true, "labels": {"vi": "Số", "en": "Number", "ar": "الرقم"}}]}`
	for _, tc := range []struct{ name, holder, source string }{
		{"ok/vehicles of a person", "person", "vehicles"},
		{"ok/insurance of a person", "person", "insurance"},
		{"fail/vehicles of an organisation", "organisation", "vehicles"},
		{"fail/insurance of an organisation", "organisation", "insurance"},
		{"fail/a registry that does not exist", "person", "boats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			body := strings.NewReplacer("HOLDER", tc.holder, "SOURCE", tc.source).Replace(base)
			if err := os.WriteFile(filepath.Join(dir, "boat_licence.json"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := wallet.LoadCatalogue(dir)
			if ok := strings.HasPrefix(tc.name, "ok/"); ok != (err == nil) || !ok && !strings.Contains(err.Error(), "source") {
				t.Fatalf("got %v", err)
			}
		})
	}
}
