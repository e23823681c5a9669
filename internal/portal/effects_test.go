package portal_test

import (
	"context"
	"testing"

	"civitas/internal/kernel"
	"civitas/internal/portal"
	"civitas/internal/registry"
)

// approve submits a draft (paying its fee), and has an official with role
// at the agency of its one part receive and approve it with fields.
func approve(t *testing.T, e *env, ctx context.Context, a portal.Application, role registry.Role, fields map[string]string) portal.Application {
	t.Helper()
	if a.Fee > 0 {
		pay := m(e.svc.Pay(ctx, a.ID)).of(t)
		e.pay.settle(pay.ID, pay.Amount)
		m(e.svc.RefreshPayment(ctx, a.ID)).of(t)
	}
	a = m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{ACR: kernel.ACRLevel2, Code: "123456"})).of(t)
	cp := a.Parts[0]
	off := e.official(e.officialOf(cp.Agency, role), cp.Agency)
	m(e.svc.Receive(off, cp.Agency, a.ID, cp.Code)).of(t)
	return m(e.svc.Decide(off, portal.DecideRequest{Agency: cp.Agency, ID: a.ID, Part: cp.Code, Approve: true, ACR: kernel.ACRLevel2, Code: "123456", Fields: fields})).of(t)
}

// TestEffects: the registry changes of the procedures other tests do not
// decide — a vehicle, a household business, a temporary residence, a
// marriage, a land transfer — made in the decision's transaction, and the
// results filled from them.
func TestEffects(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	e.sig.creds["acct-"+mo.CitizenID+"@"] = true

	t.Run("ok/vehicle", func(t *testing.T) {
		a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "vehicle_registration", Fields: map[string]string{"make": "Honda", "model": "Wave Alpha",
			"colour": "Đỏ", "frame_number": "RLHJA3900KY123456", "engine_number": "JA39E1234567"}})).of(t)
		m(e.svc.AddUpload(ctx, a.ID, "purchase_invoice", "hoa-don.pdf", []byte("%PDF-1.4\n%%EOF\n"))).of(t)
		if a = approve(t, e, ctx, m(e.svc.Application(ctx, a.ID)).of(t), registry.PoliceOfficer, map[string]string{"plate": "99a 12345"}); a.Status != portal.StatusClosed {
			t.Errorf("status %s", a.Status)
		}
		if v, err := e.reg.Vehicle(e.ctx, "99A-123.45"); err != nil || v.OwnerCitizenID != mo.CitizenID || v.Make != "Honda" {
			t.Errorf("vehicle %+v %v", v, err)
		}
		if docs := e.w.issued("vehicle_registration"); len(docs) != 1 || docs[0].Claims != nil || docs[0].Record != "99A-123.45" {
			t.Errorf("registration %+v", docs)
		}
	})
	t.Run("ok/household business", func(t *testing.T) {
		a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "household_business_registration", Fields: map[string]string{
			"business_name": "Tạp hóa Hoa Mai", "business_address": "Số 3, Thôn 2", "activity": "Bán lẻ hàng tạp hóa"}})).of(t)
		if a = approve(t, e, ctx, a, registry.ViceChairman, nil); a.Status != portal.StatusClosed {
			t.Errorf("status %s", a.Status)
		}
		hs := m(e.reg.HouseholdBusinessesOf(e.ctx, mo.CitizenID)).of(t)
		if len(hs) != 1 || hs[0].Name != "Tạp hóa Hoa Mai" {
			t.Fatalf("household businesses %+v", hs)
		}
		docs := e.w.issued("household_business_registration")
		if len(docs) != 1 || docs[0].Claims["reg_number"] != hs[0].RegNumber || docs[0].Claims["owner_name"] != mo.FullName || docs[0].Claims["address"] != "Số 3, Thôn 2" {
			t.Errorf("certificate %+v", docs)
		}
	})
	t.Run("ok/temporary residence", func(t *testing.T) {
		a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "temporary_residence_registration", Fields: map[string]string{
			"stay_address": "Phòng 2, số 8 đường Lê Lợi", "from": "2025-03-04", "until": "2026-03-03"}})).of(t)
		approve(t, e, ctx, a, registry.PoliceOfficer, nil)
		r, err := e.reg.CurrentResidence(e.ctx, mo.CitizenID, registry.Temporary)
		if err != nil || r.Address != "Phòng 2, số 8 đường Lê Lợi" || r.Until != "2026-03-03" {
			t.Errorf("temporary residence %+v %v", r, err)
		}
		if docs := e.w.issued("temporary_residence"); len(docs) != 1 || docs[0].Claims["address"] != r.Address || docs[0].Claims["until"] != "2026-03-03" {
			t.Errorf("confirmation %+v", docs)
		}
	})
	t.Run("fail/an approval the registry refuses changes nothing", func(t *testing.T) {
		other := e.mother(mo.CitizenID)
		octx := e.citizen(other.CitizenID, 2)
		a := m(e.svc.Start(octx, portal.StartRequest{Procedure: "temporary_residence_registration", Fields: map[string]string{
			"stay_address": "Nơi khác", "from": "2025-03-04", "until": "2029-03-03"}})).of(t) // more than two years
		pay := m(e.svc.Pay(octx, a.ID)).of(t)
		e.pay.settle(pay.ID, pay.Amount)
		m(e.svc.RefreshPayment(octx, a.ID)).of(t)
		a = m(e.svc.Submit(octx, a.ID, portal.SubmitRequest{})).of(t)
		cp := a.Parts[0]
		off := e.official(e.officialOf(cp.Agency, registry.PoliceOfficer), cp.Agency)
		m(e.svc.Receive(off, cp.Agency, a.ID, cp.Code)).of(t)
		_, err := e.svc.Decide(off, portal.DecideRequest{Agency: cp.Agency, ID: a.ID, Part: cp.Code, Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})
		wantCode(t, err, kernel.Invalid)
		a = m(e.svc.DeskApplication(off, cp.Agency, a.ID)).of(t)
		if a.Parts[0].Status != portal.PartReceived || a.Status != portal.StatusReceived {
			t.Errorf("after a refused change: %s %s", a.Parts[0].Status, a.Status)
		}
		if _, err := e.reg.CurrentResidence(e.ctx, other.CitizenID, registry.Temporary); kernel.ErrorCode(err) != kernel.NotFound {
			t.Errorf("a temporary residence was written: %v", err)
		}
	})
}

// TestMarriageAndLand: two parties read from the registries by the
// citizen IDs given, and the registry changes of their approval.
func TestMarriageAndLand(t *testing.T) {
	e := newEnv(t)
	var woman, man, owner, parcel string
	if err := e.d.QueryRow(e.ctx, `SELECT p.citizen_id FROM persons p WHERE p.sex = 'F' AND p.birth_date BETWEEN '1990-01-01' AND '2004-01-01' AND p.died_on = ''
		AND NOT EXISTS (SELECT 1 FROM marriages m WHERE m.wife_citizen_id = p.citizen_id) ORDER BY p.citizen_id LIMIT 1`).Scan(&woman); err != nil {
		t.Skip("no unmarried woman in the demo")
	}
	if err := e.d.QueryRow(e.ctx, `SELECT p.citizen_id FROM persons p WHERE p.sex = 'M' AND p.birth_date BETWEEN '1985-01-01' AND '2002-01-01' AND p.died_on = ''
		AND NOT EXISTS (SELECT 1 FROM marriages m WHERE m.husband_citizen_id = p.citizen_id) ORDER BY p.citizen_id LIMIT 1`).Scan(&man); err != nil {
		t.Skip("no unmarried man in the demo")
	}
	ctx := e.citizen(woman, 2)
	e.sig.creds["acct-"+woman+"@"] = true
	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "marriage_registration", Fields: map[string]string{"spouse.citizen_id": man}})).of(t)
	if a.Value("spouse.full_name") == "" || a.Value("spouse.marital_status") != "single" {
		t.Fatalf("the spouse was not read: %v", a.Data)
	}
	approve(t, e, ctx, a, registry.CivilClerk, nil)
	st, mar, err := e.reg.MaritalStatusOf(e.ctx, woman)
	if err != nil || st != registry.Married || mar.HusbandCitizenID != man {
		t.Fatalf("marriage %v %+v %v", st, mar, err)
	}
	if docs := e.w.issued("marriage_certificate"); len(docs) != 1 || docs[0].Claims["husband_citizen_id"] != man || docs[0].Claims["wife_citizen_id"] != woman {
		t.Errorf("certificate %+v", docs)
	}

	if err := e.d.QueryRow(e.ctx, `SELECT o.owner_id, o.parcel_id FROM land_owners o JOIN persons p ON p.citizen_id = o.owner_id
		WHERE o.owner_kind = 'person' AND p.died_on = '' AND o.owner_id <> ? ORDER BY o.parcel_id LIMIT 1`, man).Scan(&owner, &parcel); err != nil {
		t.Skip("no owner of land in the demo")
	}
	octx := e.citizen(owner, 2)
	e.sig.creds["acct-"+owner+"@"] = true
	a = m(e.svc.Start(octx, portal.StartRequest{Procedure: "land_transfer", Fields: map[string]string{"buyer.citizen_id": man}})).of(t)
	for i, s := range a.Sources {
		if s.Source == "registry:land.parcels_of_owner" {
			for j, r := range s.Records {
				if r["parcel_id"] == parcel {
					a = m(e.svc.Save(octx, a.ID, portal.SaveRequest{Picks: map[string]int{s.Party + ":" + s.Source: j}})).of(t)
				}
			}
			_ = i
		}
	}
	if a.Value("parcel_id") != parcel {
		t.Fatalf("parcel %s, want %s", a.Value("parcel_id"), parcel)
	}
	m(e.svc.AddUpload(octx, a.ID, "transfer_contract", "hop-dong.pdf", []byte("%PDF-1.4\n%%EOF\n"))).of(t)
	a = approve(t, e, octx, m(e.svc.Application(octx, a.ID)).of(t), registry.Director, nil)
	p := m(e.reg.Parcel(e.ctx, parcel)).of(t)
	if len(p.Owners) != 1 || p.Owners[0].OwnerID != man || p.Certificate == nil {
		t.Fatalf("parcel after the transfer %+v", p)
	}
	docs := e.w.issued("land_use_certificate")
	if len(docs) != 1 || docs[0].Holder.ID != man || docs[0].Claims["certificate_number"] != p.Certificate.Number {
		t.Errorf("certificate %+v", docs)
	}
}
