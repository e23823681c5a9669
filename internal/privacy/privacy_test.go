package privacy_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/privacy"
	"civitas/internal/registry"
)

// province: a demo registry and three people: A (guardian of C), B, and
// an official of A's commune police.
type province struct {
	d       *db.DB
	clock   *kernel.ManualClock
	reg     *registry.Service
	s       *privacy.Service
	a, b, c registry.Person
	police  string
	uses    *useLog
}

type accounts map[string]registry.Person // account ID -> person

func (a accounts) Subject(_ context.Context, id string) (privacy.Subject, error) {
	p, ok := a[id]
	if !ok {
		return privacy.Subject{}, kernel.E(kernel.NotFound, "error.not_found")
	}
	return privacy.Subject{AccountID: id, CitizenID: p.CitizenID, Name: p.FullName, UnitCode: p.UnitCode}, nil
}

type guardians map[string]registry.Person // guardian account -> child

func (g guardians) Dependants(_ context.Context, id string) ([]privacy.Subject, error) {
	c, ok := g[id]
	if !ok {
		return nil, nil
	}
	return []privacy.Subject{{CitizenID: c.CitizenID, Name: c.FullName, UnitCode: c.UnitCode, Dependant: true}}, nil
}

type officials map[string]string // account -> agency

func (o officials) Posts(_ context.Context, id string) ([]privacy.Post, error) {
	if a, ok := o[id]; ok {
		return []privacy.Post{{AgencyCode: a, AgencyName: "Công an " + a}}, nil
	}
	return nil, nil
}

// source is a capability's export, holding records per citizen.
type source struct{ by map[string][]privacy.Record }

func (source) Name() string { return "wallet" }
func (s source) Export(_ context.Context, subj privacy.Subject) ([]privacy.Record, error) {
	return s.by[subj.CitizenID], nil
}

type useLog struct {
	mu   sync.Mutex
	uses []kernel.DataUse
}

func (l *useLog) Record(_ context.Context, _ *db.Tx, u kernel.DataUse) error {
	l.mu.Lock()
	l.uses = append(l.uses, u)
	l.mu.Unlock()
	return nil
}

func newProvince(t *testing.T) *province {
	t.Helper()
	ctx := context.Background()
	p := &province{d: dbtest.Open(t), clock: kernel.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)), uses: &useLog{}}
	if _, err := demo.Load(ctx, p.d, demo.Options{Persons: 1000, Seed: 3, Clock: p.clock}); err != nil {
		t.Fatal(err)
	}
	p.reg = registry.New(p.d, p.clock)
	ps, err := p.reg.ListPersons(ctx, kernel.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// A lives in a household with others: their data must stay out of A's export.
	for _, x := range ps {
		members, _ := p.reg.HouseholdMembers(ctx, x.HouseholdID)
		if len(members) >= 3 && p.a.CitizenID == "" {
			p.a, p.c = members[0], members[1]
		}
	}
	for _, x := range ps {
		if x.HouseholdID != p.a.HouseholdID && (p.b.CitizenID == "" || x.UnitCode == p.a.UnitCode) {
			p.b = x // another household, of the same commune when there is one
		}
	}
	if p.a.CitizenID == "" || p.b.CitizenID == "" {
		t.Fatal("no demo household to test with")
	}
	as, err := p.reg.AgenciesIn(ctx, p.a.UnitCode)
	if err != nil {
		t.Fatal(err)
	}
	for _, ag := range as {
		if ag.Kind == registry.Police {
			p.police = ag.Code
		}
	}
	if p.police == "" {
		t.Fatal("no police in A's commune")
	}
	p.s, err = privacy.New(privacy.Options{DB: p.d, Clock: p.clock, Registry: p.reg,
		Accounts:   accounts{"acc-a": p.a, "acc-b": p.b},
		Dependants: guardians{"acc-a": p.c},
		Officials:  officials{"acc-police": p.police, "acc-other": "OTHER-AGENCY"},
		Sources: []privacy.Source{source{by: map[string][]privacy.Record{
			p.a.CitizenID: {{Kind: "document", ID: "doc-a", Agency: p.police, Fields: []privacy.Field{{Name: "type", Value: "citizen_id_card"}}}},
			p.b.CitizenID: {{Kind: "document", ID: "doc-b", Agency: p.police, Fields: []privacy.Field{{Name: "type", Value: "secret-of-b"}}}},
			p.c.CitizenID: {{Kind: "document", ID: "doc-c", Agency: p.police, Fields: []privacy.Field{{Name: "type", Value: "birth_certificate"}}}},
		}}},
		UseLog: p.uses})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func as(id string) context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: id})
}

func official(id, agency string) context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOfficial, ID: id, OnBehalfOf: "agency:" + agency})
}

// A citizen's export holds their own data and their dependant's, and
// nothing of anyone else: not the other members of their household, not
// another citizen.
func TestExportHoldsOnlyTheirOwnData(t *testing.T) {
	p := newProvince(t)
	ctx := context.Background()
	members, err := p.reg.HouseholdMembers(ctx, p.a.HouseholdID)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := p.s.Export(as("acc-a"), "acc-a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ex)
	text := string(b)
	for _, want := range []string{p.a.CitizenID, p.a.FullName, "doc-a", p.c.CitizenID, "doc-c", `"format":"civitas-personal-data/1"`} {
		if !strings.Contains(text, want) {
			t.Errorf("A's export lacks %q", want)
		}
	}
	for _, m := range members {
		if m.CitizenID != p.a.CitizenID && m.CitizenID != p.c.CitizenID && strings.Contains(text, m.CitizenID) {
			t.Errorf("A's export holds a household member's citizen ID %s", m.CitizenID)
		}
	}
	for _, leak := range []string{p.b.CitizenID, "doc-b", "secret-of-b"} {
		if strings.Contains(text, leak) {
			t.Errorf("A's export holds %q of another citizen", leak)
		}
	}
	if len(ex.Dependants) != 1 || ex.Dependants[0].CitizenID != p.c.CitizenID || !ex.Dependants[0].Dependant {
		t.Fatalf("dependants %+v", ex.Dependants)
	}
	bex, err := p.s.Export(as("acc-b"), "acc-b")
	if err != nil {
		t.Fatal(err)
	}
	bb, _ := json.Marshal(bex)
	for _, leak := range []string{p.a.CitizenID, p.c.CitizenID, "doc-a", "doc-c"} {
		if strings.Contains(string(bb), leak) {
			t.Errorf("B's export holds %q", leak)
		}
	}
	// The person record names the agency that corrects it.
	var person *privacy.Record
	for _, sec := range ex.Person.Sections {
		for i := range sec.Records {
			if sec.Name == "registry" && sec.Records[i].Kind == "person" {
				person = &sec.Records[i]
			}
		}
	}
	if person == nil || person.Agency != p.police {
		t.Fatalf("person record %+v, want agency %s", person, p.police)
	}
}

func TestOnlyThePersonExports(t *testing.T) {
	p := newProvince(t)
	for name, ctx := range map[string]context.Context{
		"fail/another citizen": as("acc-b"),
		"fail/an official":     official("acc-police", p.police),
		"fail/an operator":     kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "cli"}),
		"fail/anonymous":       context.Background(),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := p.s.Export(ctx, "acc-a"); kernel.ErrorCode(err) != kernel.Forbidden {
				t.Fatalf("export: %v", err)
			}
			if _, err := p.s.RequestCorrection(ctx, "acc-a", privacy.CorrectionRequest{}); kernel.ErrorCode(err) != kernel.Forbidden {
				t.Fatalf("correction: %v", err)
			}
			if err := p.s.Withdraw(ctx, "acc-a", "rp"); kernel.ErrorCode(err) != kernel.Forbidden {
				t.Fatalf("withdraw: %v", err)
			}
		})
	}
}

// A correction goes to the agency holding the record; its officials see
// it (a logged use of the person's data), decide once, and the person
// reads the answer. Nobody corrects another's record or picks the agency.
func TestCorrectionGoesToTheAgency(t *testing.T) {
	p := newProvince(t)
	req := privacy.CorrectionRequest{CitizenID: p.a.CitizenID, Section: "registry", RecordKind: "person", RecordID: p.a.CitizenID,
		Wrong: "Ngày sinh ghi sai", Correct: "Ngày sinh đúng là 02/03/1980"}
	for _, tc := range []struct {
		name string
		mod  func(r privacy.CorrectionRequest) privacy.CorrectionRequest
		code kernel.Code
	}{
		{"fail/another's record", func(r privacy.CorrectionRequest) privacy.CorrectionRequest {
			r.CitizenID, r.RecordID = p.b.CitizenID, p.b.CitizenID
			return r
		}, kernel.NotFound},
		{"fail/a record not in the export", func(r privacy.CorrectionRequest) privacy.CorrectionRequest { r.RecordID = "x"; return r }, kernel.NotFound},
		{"fail/empty text", func(r privacy.CorrectionRequest) privacy.CorrectionRequest { r.Wrong = "  "; return r }, kernel.Invalid},
		{"fail/too long", func(r privacy.CorrectionRequest) privacy.CorrectionRequest {
			r.Correct = strings.Repeat("a", 1001)
			return r
		}, kernel.Invalid},
		{"fail/an audit record has no agency", func(r privacy.CorrectionRequest) privacy.CorrectionRequest {
			r.Section, r.RecordKind = "consents", "consent"
			return r
		}, kernel.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.s.RequestCorrection(as("acc-a"), "acc-a", tc.mod(req)); kernel.ErrorCode(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
	c, err := p.s.RequestCorrection(as("acc-a"), "acc-a", req)
	if err != nil {
		t.Fatal(err)
	}
	if c.Agency != p.police || c.Status != privacy.CorrectionOpen {
		t.Fatalf("correction %+v", c)
	}
	// The dependant's record too, by their guardian.
	if _, err := p.s.RequestCorrection(as("acc-a"), "acc-a", privacy.CorrectionRequest{CitizenID: p.c.CitizenID, Section: "wallet",
		RecordKind: "document", RecordID: "doc-c", Wrong: "tên cha sai", Correct: "tên cha đúng"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.s.AgencyCorrections(official("acc-other", "OTHER-AGENCY"), "acc-other", p.police, privacy.CorrectionOpen, kernel.Page{}); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("another agency's official: %v", err)
	}
	list, err := p.s.AgencyCorrections(official("acc-police", p.police), "acc-police", p.police, privacy.CorrectionOpen, kernel.Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("the agency's list: %d %v", len(list), err)
	}
	if len(p.uses.uses) != 2 || p.uses.uses[0].Subject == "" || p.uses.uses[0].Agency != p.police {
		t.Fatalf("data uses %+v", p.uses.uses)
	}
	octx := official("acc-police", p.police)
	if err := p.s.DecideCorrection(octx, "acc-other", p.police, c.ID, privacy.CorrectionDone, "ok"); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("decided by another agency's official: %v", err)
	}
	if err := p.s.DecideCorrection(octx, "acc-police", p.police, c.ID, "maybe", "ok"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("a decision that is none: %v", err)
	}
	if err := p.s.DecideCorrection(octx, "acc-police", p.police, c.ID, privacy.CorrectionDone, "Đã sửa theo giấy khai sinh"); err != nil {
		t.Fatal(err)
	}
	if err := p.s.DecideCorrection(octx, "acc-police", p.police, c.ID, privacy.CorrectionRefused, "x"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("decided twice: %v", err)
	}
	mine, err := p.s.MyCorrections(as("acc-a"), "acc-a")
	if err != nil || len(mine) != 2 {
		t.Fatalf("mine: %d %v", len(mine), err)
	}
	for _, m := range mine {
		if m.ID == c.ID && (m.Status != privacy.CorrectionDone || m.Answer == "" || m.DecidedAt.IsZero()) {
			t.Fatalf("the answer as the person reads it: %+v", m)
		}
	}
	if rep, err := audit.Verify(context.Background(), p.d); err != nil || !rep.OK() {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}

func TestBreach(t *testing.T) {
	p := newProvince(t)
	op := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "cli:breach"})
	b := privacy.Breach{DetectedAt: p.clock.Now().Add(-2 * time.Hour), OccurredAt: p.clock.Now().Add(-5 * time.Hour),
		Description: "Một máy chủ sao lưu bị truy cập trái phép", Categories: "họ tên, số định danh, số điện thoại",
		Subjects: "công dân xã A", SubjectsCount: 1200, Contact: "Nguyễn Văn An, 0912345678, dpo@example.vn", Measures: "đã thu hồi khóa"}
	if _, err := p.s.RecordBreach(as("acc-a"), b); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a citizen records a breach: %v", err)
	}
	got, err := p.s.RecordBreach(op, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Nghị định 13/2023/NĐ-CP", "A05", "1200", "họ tên, số định danh", "dpo@example.vn", "đã thu hồi khóa", "72 giờ", got.ID} {
		if !strings.Contains(got.Notification, want) {
			t.Errorf("the notification lacks %q:\n%s", want, got.Notification)
		}
	}
	if !got.Deadline().Equal(b.OccurredAt.Add(72 * time.Hour)) {
		t.Errorf("deadline %v", got.Deadline())
	}
	late := b
	late.DetectedAt, late.OccurredAt = p.clock.Now().Add(-100*time.Hour), time.Time{}
	if _, err := p.s.RecordBreach(op, late); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("late without a reason: %v", err)
	}
	late.LateReason = "phát hiện qua rà soát định kỳ"
	if l, err := p.s.RecordBreach(op, late); err != nil || !strings.Contains(l.Notification, "Lý do thông báo sau 72 giờ") {
		t.Fatalf("late with a reason: %v", err)
	}
	bad := b
	bad.Contact = ""
	if _, err := p.s.RecordBreach(op, bad); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("no contact: %v", err)
	}
	if err := p.s.BreachNotified(op, got.ID, p.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := p.s.BreachNotified(op, got.ID, p.clock.Now()); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("notified twice: %v", err)
	}
	list, err := p.s.Breaches(op)
	if err != nil || len(list) != 2 || list[0].NotifiedAt.IsZero() == list[1].NotifiedAt.IsZero() {
		t.Fatalf("breaches %+v %v", list, err)
	}
}
