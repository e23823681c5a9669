package portal_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/portal"
	"civitas/internal/registry"
)

// birthApplication starts and fills the integrated birth procedure for a
// mother and submits it.
func birthApplication(t *testing.T, e *env, ctx context.Context) portal.Application {
	t.Helper()
	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "birth_integrated"})).of(t)
	a = m(e.svc.Save(ctx, a.ID, portal.SaveRequest{Fields: map[string]string{
		"child.full_name": "Nguyễn Thị An", "child.birth_date": "2025-03-01", "child.sex": "F",
		"child.place_of_birth": "Bệnh viện Đa khoa tỉnh", "hospital": "Trạm Y tế xã"}})).of(t)
	return m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{ACR: kernel.ACRLevel1})).of(t)
}

func part(a portal.Application, code string) portal.CasePart {
	for _, p := range a.Parts {
		if p.Code == code {
			return p
		}
	}
	return portal.CasePart{}
}

// decide has an official of the part's agency with role receive, take and
// approve a part.
func decide(t *testing.T, e *env, a portal.Application, code string, role registry.Role) portal.Application {
	t.Helper()
	agency := part(a, code).Agency
	ctx := e.official(e.officialOf(agency, role), agency)
	m(e.svc.Receive(ctx, agency, a.ID, code)).of(t)
	m(e.svc.Assign(ctx, agency, a.ID, code)).of(t)
	return m(e.svc.Decide(ctx, portal.DecideRequest{Agency: agency, ID: a.ID, Part: code, Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})).of(t)
}

// TestBirthIntegrated is the integrated procedure end to end: a mother
// applies with no upload, pre-filled from the registries; the civil-status
// clerk registers the birth (the child now exists), then the commune's
// police and the district's social insurance decide their parts in
// parallel; the child's three documents are issued into its wallet, which
// the mother now sees as its guardian; the figures count it.
func TestBirthIntegrated(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "birth_integrated"})).of(t)
	if a.Status != portal.StatusDraft || a.Value("full_name") != mo.FullName || a.Value("household_id") != mo.HouseholdID || a.Value("address") == "" {
		t.Fatalf("not pre-filled: %s %v", a.Status, a.Data)
	}
	var provider string
	for _, s := range a.Sources {
		if s.Source == "registry:population.person" {
			provider = s.Provider
		}
	}
	if !strings.HasSuffix(provider, ".CA") {
		t.Errorf("population registry's provider %q, want the police", provider)
	}
	a = birthApplication(t, e, ctx)
	if a.Status != portal.StatusSubmitted || a.Due != "2025-03-13" || a.Receipt == "" || !a.Paperless {
		t.Fatalf("submitted: status %s due %s receipt %q paperless %v", a.Status, a.Due, a.Receipt, a.Paperless)
	}
	if part(a, "civil_status").Status != portal.PartQueued || part(a, "residence").Status != portal.PartWaiting || part(a, "insurance").Status != portal.PartWaiting {
		t.Fatalf("parts: %+v", a.Parts)
	}
	commune := a.Unit
	if part(a, "civil_status").Agency != "X"+commune+".UBND" || part(a, "residence").Agency != "X"+commune+".CA" ||
		part(a, "insurance").Agency != e.agencyServing(registry.SocialInsurance, commune, registry.District) {
		t.Fatalf("routed to %+v", a.Parts)
	}

	a = decide(t, e, a, "civil_status", registry.CivilClerk)
	child, err := e.reg.Person(e.ctx, a.Beneficiary)
	if err != nil || child.FullName != "Nguyễn Thị An" || child.HouseholdID != mo.HouseholdID {
		t.Fatalf("the child is not in the population registry: %+v %v", child, err)
	}
	if b, err := e.reg.Birth(e.ctx, child.CitizenID); err != nil || b.MotherCitizenID != mo.CitizenID {
		t.Fatalf("birth: %+v %v", b, err)
	}
	if !slices.Contains(e.acc.added, "acct-"+mo.CitizenID+">"+child.CitizenID) {
		t.Error("the mother is not the child's guardian")
	}
	if part(a, "civil_status").Status != portal.PartIssued || part(a, "residence").Status != portal.PartQueued || part(a, "insurance").Status != portal.PartQueued {
		t.Fatalf("after the birth: %+v", a.Parts)
	}
	if a.Status != portal.StatusProcessing {
		t.Errorf("one status for the citizen: %s", a.Status)
	}
	a = decide(t, e, a, "insurance", registry.Officer)
	a = decide(t, e, a, "residence", registry.PoliceOfficer)
	if a.Status != portal.StatusClosed {
		t.Fatalf("status %s, want closed", a.Status)
	}
	if c, err := e.reg.InsuranceCard(e.ctx, child.CitizenID); err != nil || c.Participation != "TE" {
		t.Errorf("card %+v %v", c, err)
	}
	for _, typ := range []string{"birth_certificate", "permanent_residence", "health_insurance_card"} {
		docs := e.w.issued(typ)
		if len(docs) != 1 || docs[0].Holder.ID != child.CitizenID || docs[0].Claims != nil {
			t.Errorf("%s: %+v", typ, docs)
		}
	}
	// The mother downloads the signed results of her child.
	pdf := m(e.svc.ResultPDF(ctx, a.ID, "civil_status")).of(t)
	if !bytes.Contains(pdf, []byte("sealed by X"+commune+".UBND")) {
		t.Errorf("result PDF %q", pdf)
	}
	if cred := m(e.svc.ResultCredential(ctx, a.ID, "insurance")).of(t); !strings.HasPrefix(cred, "eyJ") {
		t.Errorf("credential %q", cred)
	}
	got := e.tallies()
	for name, want := range map[string]int64{portal.FigureSubmittedOnline: 1, portal.FigurePaperless: 1, portal.FigureDecided: 1,
		portal.FigureOnTime: 1, portal.FigureOpen: 0, portal.FigureSubmittedCounter: 0} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d", name, got[name], want)
		}
	}
	if n := e.notes.templates("acct-" + mo.CitizenID); !slices.Contains(n, "portal.notice.submitted") || !slices.Contains(n, "portal.notice.result_issued") {
		t.Errorf("notices %v", n)
	}
	checkRecount(t, e)
}

// checkRecount holds the tallies against the recount from the tables.
func checkRecount(t *testing.T, e *env) {
	t.Helper()
	rows := m(e.svc.RecountTallies(e.ctx)).of(t)
	recount := map[string]int64{}
	for _, r := range rows {
		recount[r.Name] += r.Value
	}
	live := e.tallies()
	for _, ind := range e.svc.Indicators() {
		if live[ind.Name] != recount[ind.Name] {
			t.Errorf("%s: live %d, recounted %d", ind.Name, live[ind.Name], recount[ind.Name])
		}
	}
}

// TestWhoSeesWhat: a citizen sees only their own and their dependants'
// applications; an official only their agency's; a decision needs a
// deciding role, a level-2 session and a signing credential in capacity.
func TestWhoSeesWhat(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	a := birthApplication(t, e, ctx)
	agency := part(a, "civil_status").Agency

	other := e.mother(mo.CitizenID)
	octx := e.citizen(other.CitizenID, 2)
	_, err := e.svc.Application(octx, a.ID)
	wantCode(t, err, kernel.NotFound)
	if pg := m(e.svc.Mine(octx, kernel.Page{})).of(t); len(pg.Items) != 0 {
		t.Errorf("another citizen lists %d applications", len(pg.Items))
	}
	_, err = e.svc.Withdraw(octx, a.ID)
	wantCode(t, err, kernel.NotFound)
	_, err = e.svc.Application(context.Background(), a.ID)
	wantCode(t, err, kernel.Unauthenticated)

	// An official of another commune sees neither the queue entry nor the application.
	var elsewhere string
	if err := e.d.QueryRow(e.ctx, `SELECT a.code FROM agencies a JOIN officials o ON o.agency_code = a.code AND o.role = 'civil_status_clerk'
		WHERE a.kind = 'people_committee' AND a.code LIKE 'X%' AND a.code <> ? ORDER BY a.code LIMIT 1`, agency).Scan(&elsewhere); err != nil {
		t.Fatal(err)
	}
	ectx := e.official(e.officialOf(elsewhere, registry.CivilClerk), elsewhere)
	_, err = e.svc.DeskApplication(ectx, elsewhere, a.ID)
	wantCode(t, err, kernel.NotFound)
	_, err = e.svc.Receive(ectx, elsewhere, a.ID, "civil_status")
	wantCode(t, err, kernel.NotFound)
	// Naming the right agency without a post there is refused.
	_, err = e.svc.Queue(kernel.WithActor(ectx, kernel.Actor{Kind: kernel.ActorOfficial, ID: kernel.ActorFrom(ectx).ID, OnBehalfOf: "agency:" + agency}),
		portal.QueueRequest{Agency: agency})
	wantCode(t, err, kernel.Forbidden)
	// A citizen is no official.
	_, err = e.svc.Queue(ctx, portal.QueueRequest{Agency: agency})
	wantCode(t, err, kernel.Forbidden)

	clerk := e.official(e.officialOf(agency, registry.CivilClerk), agency)
	if q := m(e.svc.Queue(clerk, portal.QueueRequest{Agency: agency})).of(t); len(q.Items) != 1 || q.Items[0].ApplicationID != a.ID {
		t.Fatalf("queue %+v", q.Items)
	}
	m(e.svc.Receive(clerk, agency, a.ID, "civil_status")).of(t)
	for name, req := range map[string]portal.DecideRequest{
		"fail/level 1":  {ACR: kernel.ACRLevel1, Code: "123456"},
		"fail/no code":  {ACR: kernel.ACRLevel2},
		"fail/bad code": {ACR: kernel.ACRLevel2, Code: "000000"},
	} {
		t.Run(name, func(t *testing.T) {
			req.Agency, req.ID, req.Part, req.Approve = agency, a.ID, "civil_status", true
			_, err := e.svc.Decide(clerk, req)
			if err == nil {
				t.Fatal("decided")
			}
		})
	}
	// The bad code was given after the decision: the birth is registered,
	// the result waits for a good code.
	cur := m(e.svc.DeskApplication(clerk, agency, a.ID)).of(t)
	if part(cur, "civil_status").Status != portal.PartApproved {
		t.Fatalf("after a bad code: %s", part(cur, "civil_status").Status)
	}
	cur = m(e.svc.IssueResult(clerk, agency, a.ID, "civil_status", "123456", "vi")).of(t)
	if part(cur, "civil_status").Status != portal.PartIssued || len(e.w.issued("birth_certificate")) != 1 {
		t.Fatalf("retry: %s, %d issued", part(cur, "civil_status").Status, len(e.w.issued("birth_certificate")))
	}

	// A one-stop officer receives but may not decide; an official without
	// a signing credential in capacity changes nothing.
	police := part(cur, "residence").Agency
	chief := e.officialOf(police, registry.Director)
	pctx := e.official(chief, police)
	delete(e.sig.creds, "acct-"+chief+"@"+police)
	m(e.svc.Receive(pctx, police, a.ID, "residence")).of(t)
	_, err = e.svc.Decide(pctx, portal.DecideRequest{Agency: police, ID: a.ID, Part: "residence", Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})
	wantCode(t, err, kernel.Forbidden)
	one := e.official(e.officialOf(agency, registry.OneStopOfficer), agency)
	_, err = e.svc.Decide(one, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "civil_status", Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})
	wantCode(t, err, kernel.Forbidden)
	if cur := m(e.svc.DeskApplication(pctx, police, a.ID)).of(t); part(cur, "residence").Status != portal.PartReceived {
		t.Fatalf("residence part %s", part(cur, "residence").Status)
	}
}

// TestNoPaperAtTheDesk: an official may ask only for what the state does
// not hold.
func TestNoPaperAtTheDesk(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	a := birthApplication(t, e, ctx)
	agency := part(a, "civil_status").Agency
	clerk := e.official(e.officialOf(agency, registry.CivilClerk), agency)
	m(e.svc.Receive(clerk, agency, a.ID, "civil_status")).of(t)
	for _, in := range []string{"full_name", "household_id", "address", "other_parent.full_name"} {
		_, err := e.svc.RequestInfo(clerk, agency, a.ID, "civil_status", []string{in}, "Xin bổ sung")
		wantCode(t, err, kernel.Forbidden)
		if key, args := kernel.ErrorKey(err); key != "portal.error.state_held" || args[0] != in {
			t.Errorf("%s: %s %v", in, key, args)
		}
	}
	// The citizen flags an error to the agency keeping the registry instead.
	f := m(e.svc.FlagError(ctx, a.ID, "registry:population.person", "full_name", "Tên tôi viết sai dấu")).of(t)
	if !strings.HasSuffix(f.Provider, ".CA") {
		t.Errorf("flag to %s", f.Provider)
	}
	pctx := e.official(e.officialOf(f.Provider, registry.PoliceOfficer), f.Provider)
	if flags := m(e.svc.Flags(pctx, f.Provider, 10)).of(t); len(flags) != 1 || flags[0].ApplicationID != a.ID {
		t.Errorf("flags %+v", flags)
	}
	_, err := e.svc.FlagError(ctx, a.ID, "registry:land.parcels_of_owner", "", "x")
	wantCode(t, err, kernel.Invalid)
}

// TestPauseAndDeadlines: asking the applicant pauses the clock; late
// applications are flagged once and an apology sets a new date.
func TestPauseAndDeadlines(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "residence_confirmation"})).of(t)
	a = m(e.svc.Save(ctx, a.ID, portal.SaveRequest{Fields: map[string]string{"purpose": "bank"}})).of(t)
	a = m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{})).of(t)
	if a.Due != "2025-03-05" {
		t.Fatalf("due %s", a.Due)
	}
	agency := part(a, "residence_confirmation").Agency
	off := e.official(e.officialOf(agency, registry.PoliceOfficer), agency)
	m(e.svc.Receive(off, agency, a.ID, "residence_confirmation")).of(t)
	m(e.svc.Assign(off, agency, a.ID, "residence_confirmation")).of(t)
	a = m(e.svc.RequestInfo(off, agency, a.ID, "residence_confirmation", []string{"purpose"}, "Nêu rõ ngân hàng")).of(t)
	if a.Status != portal.StatusInfoRequested || a.PausedOn != "2025-03-04" {
		t.Fatalf("status %s paused %s", a.Status, a.PausedOn)
	}
	// Only what was asked may be changed.
	_, err := e.svc.Respond(ctx, a.ID, map[string]string{"full_name": "X"}, "")
	wantCode(t, err, kernel.Invalid)
	e.clock.Set(time.Date(2025, 3, 7, 3, 0, 0, 0, time.UTC)) // Friday: three working days waited
	a = m(e.svc.Respond(ctx, a.ID, map[string]string{"purpose": "work"}, "Để xin việc")).of(t)
	if a.Status != portal.StatusProcessing || a.Due != "2025-03-10" || a.PausedOn != "" {
		t.Fatalf("after the answer: %s due %s", a.Status, a.Due)
	}
	e.clock.Set(time.Date(2025, 3, 12, 3, 0, 0, 0, time.UTC))
	if n := m(e.svc.MarkOverdue(e.ctx)).of(t); n != 1 {
		t.Fatalf("%d marked overdue", n)
	}
	if n := m(e.svc.MarkOverdue(e.ctx)).of(t); n != 0 {
		t.Fatalf("marked again: %d", n)
	}
	a = m(e.svc.Application(ctx, a.ID)).of(t)
	if !a.Overdue {
		t.Error("not overdue")
	}
	_, err = e.svc.Apologise(off, agency, a.ID, "residence_confirmation", "Thiếu cán bộ", "2025-03-15") // a Saturday
	wantCode(t, err, kernel.Invalid)
	a = m(e.svc.Apologise(off, agency, a.ID, "residence_confirmation", "Thiếu cán bộ", "2025-03-17")).of(t)
	if a.Overdue || !a.Apologised || a.Due != "2025-03-17" {
		t.Fatalf("after the apology: overdue %v due %s", a.Overdue, a.Due)
	}
	a = m(e.svc.Decide(off, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "residence_confirmation", Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})).of(t)
	if a.Status != portal.StatusClosed {
		t.Fatalf("status %s", a.Status)
	}
	got := e.tallies()
	if got[portal.FigureOverdue] != 1 || got[portal.FigureApologies] != 1 || got[portal.FigureOnTime] != 1 || got[portal.FigureProcessingDays] != 6 {
		t.Errorf("figures %v", got)
	}
	docs := e.w.issued("residence_confirmation")
	if len(docs) != 1 || docs[0].Claims["residence_status"] != "Đang thường trú" || docs[0].Claims["note"] != "work" {
		t.Errorf("result %+v", docs)
	}
	checkRecount(t, e)
}

// TestFees: a fee is paid before submission (an exemption waives it), a
// payment of another amount pays nothing, and a refusal before processing
// gives the fee back.
func TestFees(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	free := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "marital_status_confirmation"})).of(t)
	free = m(e.svc.Save(ctx, free.ID, portal.SaveRequest{Fields: map[string]string{"purpose": "marriage"}})).of(t)
	free = m(e.svc.Submit(ctx, free.ID, portal.SubmitRequest{})).of(t)
	if free.Fee != 0 || free.FeeExempt != "for_marriage" || free.PaymentState != portal.PayNone {
		t.Errorf("exempt: fee %d %q %s", free.Fee, free.FeeExempt, free.PaymentState)
	}

	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "marital_status_confirmation"})).of(t)
	a = m(e.svc.Save(ctx, a.ID, portal.SaveRequest{Fields: map[string]string{"purpose": "property"}})).of(t)
	_, err := e.svc.Submit(ctx, a.ID, portal.SubmitRequest{})
	wantCode(t, err, kernel.Conflict)
	pay := m(e.svc.Pay(ctx, a.ID)).of(t)
	if pay.Amount != 10000 || pay.QRPayload == "" {
		t.Fatalf("payment %+v", pay)
	}
	e.pay.settle(pay.ID, 9000)
	_, err = e.svc.RefreshPayment(ctx, a.ID)
	wantCode(t, err, kernel.Conflict)
	e.pay.settle(pay.ID, 10000)
	a = m(e.svc.RefreshPayment(ctx, a.ID)).of(t)
	if a.PaymentState != portal.PayPaid {
		t.Fatalf("payment state %s", a.PaymentState)
	}
	a = m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{})).of(t)
	agency := part(a, "marital_status_confirmation").Agency
	clerk := e.official(e.officialOf(agency, registry.CivilClerk), agency)
	m(e.svc.Receive(clerk, agency, a.ID, "marital_status_confirmation")).of(t)
	_, err = e.svc.Decide(clerk, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "marital_status_confirmation", ACR: kernel.ACRLevel2})
	wantCode(t, err, kernel.Invalid) // a refusal gives reasons
	a = m(e.svc.Decide(clerk, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "marital_status_confirmation", Reason: "Hồ sơ trùng", ACR: kernel.ACRLevel2})).of(t)
	if a.Status != portal.StatusRefused {
		t.Fatalf("status %s", a.Status)
	}
	a = m(e.svc.Application(ctx, a.ID)).of(t)
	if a.PaymentState != portal.PayRefunded || len(e.pay.refunded) != 1 {
		t.Errorf("refund: %s %v", a.PaymentState, e.pay.refunded)
	}
	if got := e.tallies(); got[portal.FigureRefused] != 1 || got[portal.FigureDecided] != 1 || got[portal.FigureOpen] != 1 {
		t.Errorf("figures %v", got)
	}
	checkRecount(t, e)
}

// TestUploads: only upload inputs take files, of allowed types and size,
// and only on a draft; what the state holds comes from the wallet.
func TestUploads(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	e.w.held = map[string]portal.Holding{mo.CitizenID + "/driving_licence": {DocumentID: "d1", Agency: "T99.CA",
		Claims: map[string]any{"licence_number": "990123456789", "classes": "A1, B", "full_name": mo.FullName}}}
	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "driving_licence_renewal"})).of(t)
	if lic, ok := a.Data["driving_licence"].(map[string]any); !ok || lic["classes"] != "A1, B" {
		t.Fatalf("the licence is not taken from the wallet: %v", a.Data)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
	for name, tc := range map[string]struct {
		input, file string
		content     []byte
		code        kernel.Code
	}{
		"fail/state-held input":  {"driving_licence", "gplx.pdf", pdf, kernel.Invalid},
		"fail/a program":         {"health_certificate", "x.pdf", []byte("MZ\x90\x00 this is an exe"), kernel.Invalid},
		"fail/html":              {"health_certificate", "x.html", []byte("<html><script>alert(1)</script>"), kernel.Invalid},
		"fail/too large":         {"health_certificate", "x.pdf", append(append([]byte{}, pdf...), make([]byte, 11<<20)...), kernel.Invalid},
		"fail/empty":             {"health_certificate", "x.pdf", nil, kernel.Invalid},
		"ok/a PDF, name cleaned": {"health_certificate", `..\..\evil"<b>.exe`, pdf, ""},
	} {
		t.Run(name, func(t *testing.T) {
			u, err := e.svc.AddUpload(ctx, a.ID, tc.input, tc.file, tc.content)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.ContentType != "application/pdf" || strings.ContainsAny(u.Name, `\/"<>`) || !strings.HasSuffix(u.Name, ".pdf") {
				t.Errorf("upload %+v", u)
			}
		})
	}
	a = m(e.svc.Application(ctx, a.ID)).of(t)
	if len(a.Uploads) != 1 || a.Paperless {
		t.Fatalf("uploads %+v", a.Uploads)
	}
	u, b, err := e.svc.UploadContent(ctx, a.ID, a.Uploads[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, pdf) || u.Input != "health_certificate" {
		t.Errorf("content %q", b)
	}
	other := e.citizen(e.mother(mo.CitizenID).CitizenID, 2)
	_, _, err = e.svc.UploadContent(other, a.ID, a.Uploads[0].ID)
	wantCode(t, err, kernel.NotFound)
	pay := m(e.svc.Pay(ctx, a.ID)).of(t)
	e.pay.settle(pay.ID, pay.Amount)
	m(e.svc.RefreshPayment(ctx, a.ID)).of(t)
	a = m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{})).of(t)
	if a.Paperless {
		t.Error("paperless with a file")
	}
	_, err = e.svc.AddUpload(ctx, a.ID, "health_certificate", "x.pdf", pdf)
	wantCode(t, err, kernel.Conflict)
	agency := part(a, "driving_licence_renewal").Agency
	off := e.official(e.officialOf(agency, registry.PoliceOfficer), agency)
	m(e.svc.Receive(off, agency, a.ID, "driving_licence_renewal")).of(t)
	a = m(e.svc.Decide(off, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "driving_licence_renewal", Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})).of(t)
	docs := e.w.issued("driving_licence")
	if len(docs) != 1 || docs[0].Claims["licence_number"] != "990123456789" || docs[0].Claims["classes"] != "A1, B" || docs[0].Claims["issued_on"] != "2025-03-04" {
		t.Errorf("licence %+v", docs)
	}
	if got := e.tallies(); got[portal.FigurePaperless] != 0 || got[portal.FigureSubmittedOnline] != 1 {
		t.Errorf("figures %v", got)
	}
}

// TestSignedDeclaration: a procedure that asks for the applicant's
// signature needs a level-2 session, their credential and their code.
func TestSignedDeclaration(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	var head string
	if err := e.d.QueryRow(e.ctx, `SELECT head_citizen_id FROM (SELECT h.id, r.citizen_id AS head_citizen_id FROM households h
		JOIN residences r ON r.household_id = h.id AND r.relation = 'head' AND r.until_date = '' AND r.kind = 'permanent') x
		WHERE x.id <> ? ORDER BY x.id LIMIT 1`, mo.HouseholdID).Scan(&head); err != nil {
		t.Fatal(err)
	}
	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "permanent_residence_registration"})).of(t)
	a = m(e.svc.Save(ctx, a.ID, portal.SaveRequest{Fields: map[string]string{"destination.citizen_id": head, "relation": "other"}})).of(t)
	if a.Value("destination.household_id") == "" {
		t.Fatalf("the destination was not read: %v", a.Data)
	}
	pay := m(e.svc.Pay(ctx, a.ID)).of(t)
	e.pay.settle(pay.ID, pay.Amount)
	m(e.svc.RefreshPayment(ctx, a.ID)).of(t)
	// In this order: the last case gives the mother her credential, which
	// the one before must not have (a map's order would make the test pass
	// or fail by chance).
	for _, tc := range []struct {
		name string
		req  portal.SubmitRequest
	}{
		{"fail/level 1", portal.SubmitRequest{ACR: kernel.ACRLevel1, Code: "123456"}},
		{"fail/no credential", portal.SubmitRequest{ACR: kernel.ACRLevel2, Code: "123456"}},
		{"fail/the wrong code", portal.SubmitRequest{ACR: kernel.ACRLevel2, Code: "654321"}},
	} {
		name, req := tc.name, tc.req
		t.Run(name, func(t *testing.T) {
			if name == "fail/the wrong code" {
				e.sig.creds["acct-"+mo.CitizenID+"@"] = true
			}
			if _, err := e.svc.Submit(ctx, a.ID, req); err == nil {
				t.Fatal("submitted")
			}
		})
	}
	a = m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{ACR: kernel.ACRLevel2, Code: "123456"})).of(t)
	if a.Status != portal.StatusSubmitted || !strings.Contains(a.Declaration, `"signature"`) {
		t.Fatalf("declaration %q", a.Declaration)
	}
	agency := part(a, "permanent_residence_registration").Agency
	off := e.official(e.officialOf(agency, registry.PoliceOfficer), agency)
	m(e.svc.Receive(off, agency, a.ID, "permanent_residence_registration")).of(t)
	m(e.svc.Decide(off, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "permanent_residence_registration", Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})).of(t)
	moved := m(e.reg.Person(e.ctx, mo.CitizenID)).of(t)
	if moved.HouseholdID != a.Value("destination.household_id") {
		t.Errorf("household %s, want %s", moved.HouseholdID, a.Value("destination.household_id"))
	}
}

// TestAssistedAndWithdrawn: a one-stop officer submits for a person of
// their commune who came in (paid at the desk); another commune's person
// is refused; the applicant withdraws and the figures follow.
func TestAssistedAndWithdrawn(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	agency := "X" + mo.UnitCode + ".UBND"
	desk := e.official(e.officialOf(agency, registry.OneStopOfficer), agency)
	a := m(e.svc.Start(desk, portal.StartRequest{Procedure: "marital_status_confirmation", Citizen: mo.CitizenID})).of(t)
	if a.Channel != portal.ChannelCounter || a.AssistedBy == "" || a.Subject.ID != mo.CitizenID {
		t.Fatalf("assisted %+v", a)
	}
	a = m(e.svc.Save(desk, a.ID, portal.SaveRequest{Fields: map[string]string{"purpose": "property"}})).of(t)
	a = m(e.svc.Submit(desk, a.ID, portal.SubmitRequest{})).of(t)
	if a.PaymentState != portal.PayCounter {
		t.Errorf("payment %s", a.PaymentState)
	}
	var stranger string
	if err := e.d.QueryRow(e.ctx, `SELECT citizen_id FROM persons WHERE unit_code <> ? AND died_on = '' ORDER BY citizen_id LIMIT 1`, mo.UnitCode).Scan(&stranger); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Start(desk, portal.StartRequest{Procedure: "marital_status_confirmation", Citizen: stranger})
	wantCode(t, err, kernel.Forbidden)

	// The person, once signed in, sees it and withdraws it.
	ctx := e.citizen(mo.CitizenID, 1)
	a = m(e.svc.Application(ctx, a.ID)).of(t)
	a = m(e.svc.Withdraw(ctx, a.ID)).of(t)
	if a.Status != portal.StatusWithdrawn {
		t.Fatalf("status %s", a.Status)
	}
	got := e.tallies()
	if got[portal.FigureSubmittedCounter] != 1 || got[portal.FigureWithdrawn] != 1 || got[portal.FigureOpen] != 0 {
		t.Errorf("figures %v", got)
	}
	checkRecount(t, e)
}

// TestQueuePages: the queue pages by promised date without repeats.
func TestQueuePages(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	for i := range 23 {
		if i%7 == 0 {
			e.clock.Advance(24 * time.Hour)
		}
		a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "residence_confirmation"})).of(t)
		m(e.svc.Save(ctx, a.ID, portal.SaveRequest{Fields: map[string]string{"purpose": "bank"}})).of(t)
		m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{})).of(t)
	}
	agency := "X" + mo.UnitCode + ".CA"
	off := e.official(e.officialOf(agency, registry.PoliceOfficer), agency)
	seen := map[string]bool{}
	after, pages := "", 0
	last := ""
	for {
		pg := m(e.svc.Queue(off, portal.QueueRequest{Agency: agency, Page: kernel.Page{After: after, Limit: 10}})).of(t)
		for _, it := range pg.Items {
			if seen[it.ApplicationID] {
				t.Fatalf("%s twice", it.ApplicationID)
			}
			if it.Due < last {
				t.Fatalf("out of order: %s after %s", it.Due, last)
			}
			seen[it.ApplicationID], last = true, it.Due
		}
		pages++
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	if len(seen) != 23 || pages != 3 {
		t.Errorf("%d applications in %d pages", len(seen), pages)
	}
	mine := m(e.svc.Mine(ctx, kernel.Page{Limit: 20})).of(t)
	if len(mine.Items) != 20 || mine.Next == "" {
		t.Fatalf("mine %d next %q", len(mine.Items), mine.Next)
	}
	more := m(e.svc.Mine(ctx, kernel.Page{After: mine.Next, Limit: 20})).of(t)
	if len(more.Items) != 3 {
		t.Errorf("second page %d", len(more.Items))
	}
}

// TestDeathIntegrated: the death is registered, the residence ends, the
// funeral allowance is decided with its amount, results to the applicant.
func TestDeathIntegrated(t *testing.T) {
	e := newEnv(t)
	mo := e.mother()
	ctx := e.citizen(mo.CitizenID, 2)
	var deceased string
	if err := e.d.QueryRow(e.ctx, `SELECT citizen_id FROM persons WHERE household_id = ? AND citizen_id <> ? AND died_on = '' ORDER BY birth_date LIMIT 1`,
		mo.HouseholdID, mo.CitizenID).Scan(&deceased); err != nil {
		t.Skip("no one else in the household")
	}
	a := m(e.svc.Start(ctx, portal.StartRequest{Procedure: "death_integrated", Fields: map[string]string{"deceased.citizen_id": deceased}})).of(t)
	if a.Value("deceased.full_name") == "" {
		t.Fatalf("the deceased was not read: %v", a.Data)
	}
	a = m(e.svc.Save(ctx, a.ID, portal.SaveRequest{Fields: map[string]string{"deceased.died_on": "2025-03-02", "deceased.place_of_death": "Tại nhà", "relation": "parent"}})).of(t)
	a = m(e.svc.Submit(ctx, a.ID, portal.SubmitRequest{})).of(t)
	a = decide(t, e, a, "civil_status", registry.CivilClerk)
	if p := m(e.reg.Person(e.ctx, deceased)).of(t); p.DiedOn != "2025-03-02" {
		t.Fatalf("died on %q", p.DiedOn)
	}
	a = decide(t, e, a, "residence", registry.PoliceOfficer)
	agency := part(a, "funeral").Agency
	vc := e.official(e.officialOf(agency, registry.ViceChairman), agency)
	m(e.svc.Receive(vc, agency, a.ID, "funeral")).of(t)
	_, err := e.svc.Decide(vc, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "funeral", Approve: true, ACR: kernel.ACRLevel2, Code: "123456"})
	wantCode(t, err, kernel.Invalid) // the amount is required
	a = m(e.svc.Decide(vc, portal.DecideRequest{Agency: agency, ID: a.ID, Part: "funeral", Approve: true, ACR: kernel.ACRLevel2, Code: "123456",
		Fields: map[string]string{"amount": "10000000"}})).of(t)
	if a.Status != portal.StatusClosed {
		t.Fatalf("status %s", a.Status)
	}
	d := e.w.issued("death_certificate")
	if len(d) != 1 || d[0].Holder.ID != mo.CitizenID || d[0].Claims["citizen_id"] != deceased || d[0].Claims["died_on"] != "2025-03-02" {
		t.Errorf("death certificate %+v", d)
	}
	f := e.w.issued("funeral_allowance_decision")
	if len(f) != 1 || f[0].Claims["amount"] != "10000000" || f[0].Claims["deceased_name"] != a.Value("deceased.full_name") || f[0].Claims["full_name"] != mo.FullName {
		t.Errorf("funeral allowance %+v", f)
	}
	var open int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM residences WHERE citizen_id = ? AND until_date = ''`, deceased).Scan(&open); err != nil || open != 0 {
		t.Errorf("%d open residences (%v)", open, err)
	}
}

func TestDeclarationDigestIsStable(t *testing.T) {
	a := portal.Application{ID: "x", Procedure: "p", Subject: portal.Subject{Kind: "person", ID: "1"},
		Data: map[string]any{"b": "2", "a": "1", "w": map[string]any{"k": "v"}}, Uploads: []portal.Upload{{Input: "f", SHA256: "ab"}}}
	d1 := portal.DeclarationDigest(a)
	a.Data = map[string]any{"w": map[string]any{"k": "v"}, "a": "1", "b": "2"}
	if !bytes.Equal(d1, portal.DeclarationDigest(a)) {
		t.Error("the digest depends on the map's order")
	}
	a.Data["a"] = "2"
	if bytes.Equal(d1, portal.DeclarationDigest(a)) {
		t.Error("the digest does not cover the data")
	}
}

var _ = db.Postgres
