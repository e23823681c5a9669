package feedback_test

import (
	"slices"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/feedback"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

func TestRoute(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name, category, commune, want string
	}{
		{"ok/environment to the district's environment office", "environment", "31011", "H980.TNMT"},
		{"ok/security to the district police", "security_order", "31001", "H990.CA"},
		{"ok/infrastructure to the ward", "urban_infrastructure", "31012", "X31012.UBND"},
		{"ok/land to the district committee", "land_construction", "31002", "H990.UBND"},
		{"ok/no rule: the commune's committee", "traffic", "31002", "X31002.UBND"},
		{"ok/no environment office in the west: the commune's committee", "environment", "31001", "X31001.UBND"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := e.s.Route(e.ctx, tt.category, tt.commune)
			if err != nil || a.Code != tt.want {
				t.Fatalf("Route = %q, %v; want %s", a.Code, err, tt.want)
			}
		})
	}
	if _, err := e.s.Route(e.ctx, "nonsense", "31011"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("unknown category: %v", err)
	}
	if err := e.s.SetRule(e.ctx, feedback.Rule{Category: "traffic", Agency: "NOPE"}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("rule to an unknown agency: %v", err)
	}
	// No district has a construction office: the province's serves them.
	if err := e.s.SetRule(e.ctx, feedback.Rule{Category: "other", AgencyKind: "construction", AgencyLevel: feedback.LevelDistrict}); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.s.Route(e.ctx, "other", "31012"); a.Code != "T99.XD" {
		t.Fatalf("nearest above: %s", a.Code)
	}
	// A rule for a smaller area wins over the district's.
	if err := e.s.SetRule(e.ctx, feedback.Rule{Category: "environment", Unit: "31012", Agency: "X31012.UBND"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.s.Route(e.ctx, "environment", "31012"); a.Code != "X31012.UBND" {
		t.Fatalf("commune rule: %s", a.Code)
	}
	if a, _ := e.s.Route(e.ctx, "environment", "31011"); a.Code != "H980.TNMT" {
		t.Fatalf("district rule elsewhere: %s", a.Code)
	}
}

func TestSubmit(t *testing.T) {
	e := newEnv(t)
	place := feedback.Place{Lat: 12.68, Lon: 108.05}
	desc := "Rác thải đổ bừa bãi bên đường"
	for _, tt := range []struct {
		name string
		d    feedback.Draft
		code kernel.Code
		key  string
	}{
		{"ok/point", feedback.Draft{Category: "environment", Place: place, Description: desc}, "", ""},
		{"ok/by address", feedback.Draft{Category: "traffic", Place: feedback.Place{ByAddress: true, Commune: "31002", Address: "Ngã ba chợ"}, Description: desc}, "", ""},
		{"ok/attribute", feedback.Draft{Category: "urban_infrastructure", Place: place, Description: desc, Attributes: map[string]string{"kind": "pothole"}}, "", ""},
		{"fail/unknown category", feedback.Draft{Category: "weather", Place: place, Description: desc}, kernel.Invalid, "feedback.error.category"},
		{"fail/outside the province", feedback.Draft{Category: "traffic", Place: feedback.Place{Lat: 21.03, Lon: 105.85}, Description: desc}, kernel.Invalid, "feedback.error.outside"},
		{"fail/outside Viet Nam", feedback.Draft{Category: "traffic", Place: feedback.Place{Lat: 48.85, Lon: 2.35}, Description: desc}, kernel.Invalid, "feedback.error.coordinates"},
		{"fail/zero point", feedback.Draft{Category: "traffic", Description: desc}, kernel.Invalid, "feedback.error.coordinates"},
		{"fail/description too short", feedback.Draft{Category: "traffic", Place: place, Description: "ổ"}, kernel.Invalid, "feedback.error.description"},
		{"fail/control characters", feedback.Draft{Category: "traffic", Place: place, Description: "ổ gà\x00\x1b[31m"}, kernel.Invalid, "feedback.error.description"},
		{"fail/attribute not offered", feedback.Draft{Category: "urban_infrastructure", Place: place, Description: desc, Attributes: map[string]string{"kind": "volcano"}}, kernel.Invalid, "feedback.error.attribute"},
		{"fail/attribute unknown", feedback.Draft{Category: "traffic", Place: place, Description: desc, Attributes: map[string]string{"colour": "red"}}, kernel.Invalid, "feedback.error.attribute"},
		{"fail/address without commune", feedback.Draft{Category: "traffic", Place: feedback.Place{ByAddress: true, Commune: "980", Address: "x"}, Description: desc}, kernel.Invalid, "feedback.error.unit"},
		{"fail/six photos", feedback.Draft{Category: "traffic", Place: place, Description: desc, Photos: [][]byte{{1}, {1}, {1}, {1}, {1}, {1}}}, kernel.Invalid, "feedback.error.photo_count"},
		{"fail/not an image", feedback.Draft{Category: "traffic", Place: place, Description: desc, Photos: [][]byte{[]byte("<html>not a photo</html>")}}, kernel.Invalid, "feedback.error.photo_type"},
		{"fail/bad phone", feedback.Draft{Category: "traffic", Place: place, Description: desc, ContactPhone: "call me"}, kernel.Invalid, "feedback.error.phone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := e.s.Submit(e.ctx, tt.d, feedback.Origin{Channel: feedback.ChannelDemo})
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rec.Report.Status != feedback.Submitted || rec.Report.Commune == "" || rec.Report.Agency == "" {
					t.Fatalf("report %+v", rec.Report)
				}
				return
			}
			key, _ := kernel.ErrorKey(err)
			if kernel.ErrorCode(err) != tt.code || key != tt.key {
				t.Fatalf("err = %v; want %s %s", err, tt.code, tt.key)
			}
		})
	}
	// A report by address is placed inside the commune chosen.
	rec, err := e.s.Submit(e.ctx, feedback.Draft{Category: "traffic", Place: feedback.Place{ByAddress: true, Commune: "31012", Address: "Trước trường học"},
		Description: desc}, feedback.Origin{Channel: feedback.ChannelDemo})
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.Report.Place; p.Lat < 12.7 || p.Lat > 12.8 || p.Lon < 108.0 || p.Lon > 108.2 || rec.Report.Commune != "31012" {
		t.Fatalf("placed at %v in %s", p, rec.Report.Commune)
	}
}

// A signed-in citizen reports as themselves and is told of it; the same
// citizen asking to stay anonymous, and anyone not signed in, gets a
// tracking code and no account on the report.
func TestReporterIdentity(t *testing.T) {
	e := newEnv(t)
	mine := e.submit(citizen, "traffic")
	if mine.TrackingCode != "" || mine.Report.Reporter != citizen {
		t.Fatalf("signed in: %+v", mine)
	}
	if got := e.notices.templates(citizen); !slices.Equal(got, []string{"feedback.notice.submitted"}) {
		t.Fatalf("notices %v", got)
	}
	anon, err := e.s.Submit(e.as(citizen), feedback.Draft{Category: "traffic", Place: feedback.Place{Lat: 12.68, Lon: 108.05},
		Description: "Đèn giao thông hỏng", Anonymous: true}, feedback.Origin{Channel: feedback.ChannelWeb, Addr: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if anon.TrackingCode == "" || anon.Report.Reporter != "" {
		t.Fatalf("anonymous: %+v", anon)
	}
	got, err := e.s.Track(e.ctx, anon.TrackingCode, "192.0.2.9")
	if err != nil || got.ID != anon.Report.ID {
		t.Fatalf("track: %v %v", got.ID, err)
	}
	// Typed in lower case without dashes, it still finds the report.
	lower := ""
	for _, r := range anon.TrackingCode {
		if r != '-' {
			lower += string(r | 0x20)
		}
	}
	if got, err := e.s.Track(e.ctx, lower, "192.0.2.9"); err != nil || got.ID != anon.Report.ID {
		t.Fatalf("track %q: %v", lower, err)
	}
	if _, err := e.s.Track(e.ctx, "ABCD-EFGH-JKMN", "192.0.2.9"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("wrong code: %v", err)
	}
	// Wrong codes run out the client's budget (10 per 10 minutes); right
	// ones do not spend it.
	for range 30 {
		if _, err := e.s.Track(e.ctx, anon.TrackingCode, "192.0.2.10"); err != nil {
			t.Fatalf("right code: %v", err)
		}
	}
	for i := range 9 {
		if _, err := e.s.Track(e.ctx, "ABCD-EFGH-JKMN", "192.0.2.9"); kernel.ErrorCode(err) != kernel.NotFound {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := e.s.Track(e.ctx, anon.TrackingCode, "192.0.2.9"); kernel.ErrorCode(err) != kernel.TooManyRequests {
		t.Fatalf("after ten wrong codes: %v", err)
	}
}

// Anonymous reports are limited per client address; others are not held
// back by it.
func TestAnonymousRateLimit(t *testing.T) {
	e := newEnvOn(t, newEnv(t).d, feedback.Options{AnonymousLimit: 3, AnonymousWindow: time.Hour})
	d := feedback.Draft{Category: "traffic", Place: feedback.Place{Lat: 12.68, Lon: 108.05}, Description: "Xe đỗ chắn lối đi"}
	for i := range 3 {
		if _, err := e.s.Submit(e.ctx, d, feedback.Origin{Channel: feedback.ChannelWeb, Addr: "198.51.100.7"}); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	if _, err := e.s.Submit(e.ctx, d, feedback.Origin{Channel: feedback.ChannelWeb, Addr: "198.51.100.7"}); kernel.ErrorCode(err) != kernel.TooManyRequests {
		t.Fatalf("fourth: %v", err)
	}
	if _, err := e.s.Submit(e.ctx, d, feedback.Origin{Channel: feedback.ChannelWeb, Addr: "198.51.100.8"}); err != nil {
		t.Fatalf("another client: %v", err)
	}
	e.clock.Advance(21 * time.Minute) // a token back every 20 minutes
	if _, err := e.s.Submit(e.ctx, d, feedback.Origin{Channel: feedback.ChannelWeb, Addr: "198.51.100.7"}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// The whole life of a report: received, assigned to a team, resolved with
// a photo, reopened by its reporter, resolved again, rated and closed —
// each step told to the reporter, on the public timeline without them,
// audited, and counted.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	rec := e.submit(citizen, "environment", jpegOf(64, 48))
	id := rec.Report.ID
	if rec.Report.Agency != "H980.TNMT" {
		t.Fatalf("routed to %s", rec.Report.Agency)
	}
	envCtx, env := e.official(envStaff)
	wardCtx, ward := e.official(wardStaff)
	teamCtx, team := e.official(teamMember)

	if _, err := e.s.Receive(wardCtx, ward, id); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("another agency received it: %v", err)
	}
	if _, err := e.s.Resolve(teamCtx, team, id, "xong", nil); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a team not assigned resolved it: %v", err)
	}
	mustStep := func(what string, _ feedback.Report, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	r, err := e.s.Receive(envCtx, env, id)
	mustStep("receive", r, err)
	if _, err := e.s.Receive(envCtx, env, id); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("received twice: %v", err)
	}
	if _, err := e.s.Assign(envCtx, env, id, "", "H980.CA#community_tech"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("assigned to a team without members: %v", err)
	}
	r, err = e.s.Assign(envCtx, env, id, "", "H980.CA#rapid_response")
	mustStep("assign", r, err)
	if r.Status != feedback.InProgress || r.Team != "H980.CA#rapid_response" {
		t.Fatalf("assigned: %+v", r)
	}
	policeCtx, police := e.official(policeStaff)
	if _, err := e.s.Answer(policeCtx, police, id, "x"); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("police outside the team acted: %v", err)
	}
	if _, err := e.s.Assign(envCtx, env, id, wardStaff, ""); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("assigned to another agency's official: %v", err)
	}
	r, err = e.s.RequestInfo(teamCtx, team, id, "Chính xác là đoạn nào?")
	mustStep("ask", r, err)
	if _, err := e.s.Reply(e.as(otherCitizen), feedback.Reporter{AccountID: otherCitizen}, id, "đoạn nào cũng vậy"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another citizen replied: %v", err)
	}
	r, err = e.s.Reply(e.as(citizen), feedback.Reporter{AccountID: citizen}, id, "Trước số nhà 12")
	mustStep("reply", r, err)
	r, err = e.s.Resolve(teamCtx, team, id, "Đã thu gom rác", pngOf(40, 30))
	mustStep("resolve", r, err)
	if r.Status != feedback.Resolved || r.FirstResolvedAt.IsZero() {
		t.Fatalf("resolved: %+v", r)
	}
	e.clock.Advance(24 * time.Hour)
	r, err = e.s.Reopen(e.as(citizen), feedback.Reporter{AccountID: citizen}, id, "Rác lại bị đổ")
	mustStep("reopen", r, err)
	if r.Status != feedback.InProgress || r.Reopened != 1 {
		t.Fatalf("reopened: %+v", r)
	}
	if _, err := e.s.Rate(e.as(citizen), feedback.Reporter{AccountID: citizen}, id, 4, ""); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("rated while reopened: %v", err)
	}
	r, err = e.s.Resolve(envCtx, env, id, "Đã đặt biển cấm đổ rác", nil)
	mustStep("resolve again", r, err)
	r, err = e.s.Rate(e.as(citizen), feedback.Reporter{AccountID: citizen}, id, 4, "Nhanh")
	mustStep("rate", r, err)
	if r.Status != feedback.Closed || r.Rating != 4 {
		t.Fatalf("rated: %+v", r)
	}
	if _, err := e.s.Reopen(e.as(citizen), feedback.Reporter{AccountID: citizen}, id, "x"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("reopened after rating: %v", err)
	}
	want := []string{"feedback.notice.submitted", "feedback.notice.received", "feedback.notice.in_progress", "feedback.notice.info_requested",
		"feedback.notice.resolved", "feedback.notice.reopened", "feedback.notice.resolved"}
	if got := e.notices.templates(citizen); !slices.Equal(got, want) {
		t.Fatalf("notices\n got %v\nwant %v", got, want)
	}
	pub, err := e.s.Public(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range pub.Events {
		kinds = append(kinds, ev.Kind)
	}
	wantKinds := []string{"submitted", "received", "assigned", "resolved", "reopened", "resolved", "rated"}
	if !slices.Equal(kinds, wantKinds) {
		t.Fatalf("public timeline %v, want %v (questions and answers stay private)", kinds, wantKinds)
	}
	if len(pub.Photos) != 2 {
		t.Fatalf("photos %+v", pub.Photos)
	}
	// Every staff step is in the audit log, as the official for the agency.
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE subject_id = ? AND actor_kind = 'official'`, id).Scan(&n); err != nil || n != 5 {
		t.Fatalf("staff actions audited: %d, %v", n, err)
	}
	checkTallies(t, e)
}

// checkTallies compares the incremental figures with a recount from the
// tables.
func checkTallies(t *testing.T, e *env) {
	t.Helper()
	want, err := e.s.Recount(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range e.s.Indicators() {
		names = append(names, i.Name)
	}
	var got []tally.Row
	err = e.d.View(e.ctx, func(tx *db.Tx) error {
		got, err = tally.Rows(e.ctx, tx, names, "", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got = slices.DeleteFunc(got, func(r tally.Row) bool { return r.Value == 0 })
	if !slices.Equal(got, want) {
		t.Fatalf("tallies\n got %v\nwant %v", got, want)
	}
	if len(want) == 0 {
		t.Fatal("no figures at all")
	}
}

// A report not reopened within 14 days of its resolution closes by
// itself; after that it cannot be reopened.
func TestReopenWindow(t *testing.T) {
	e := newEnv(t)
	id := e.submit(citizen, "urban_infrastructure").Report.ID
	ctx, o := e.official(wardStaff)
	if _, err := e.s.Resolve(ctx, o, id, "Đã vá", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(13 * 24 * time.Hour)
	if n, err := e.s.CloseExpired(e.ctx); err != nil || n != 0 {
		t.Fatalf("closed early: %d %v", n, err)
	}
	e.clock.Advance(2 * 24 * time.Hour)
	if _, err := e.s.Reopen(e.as(citizen), feedback.Reporter{AccountID: citizen}, id, "vẫn hỏng"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("reopened after 15 days: %v", err)
	}
	if n, err := e.s.CloseExpired(e.ctx); err != nil || n != 1 {
		t.Fatalf("CloseExpired: %d %v", n, err)
	}
	pub, _ := e.s.Public(e.ctx, id)
	if pub.Status != feedback.Closed {
		t.Fatalf("status %s", pub.Status)
	}
	// It can still be rated.
	if _, err := e.s.Rate(e.as(citizen), feedback.Reporter{AccountID: citizen}, id, 5, ""); err != nil {
		t.Fatal(err)
	}
	checkTallies(t, e)
}

// Staff see their agency's reports; the district's People's Committee sees
// the overdue ones of its communes, read only; nobody else sees them.
func TestStaffScope(t *testing.T) {
	e := newEnv(t)
	ward := e.submit(citizen, "urban_infrastructure").Report.ID
	e.submit(citizen, "environment")
	wardCtx, wardO := e.official(wardStaff)
	westCtx, westO := e.official(westStaff)
	headCtx, head := e.official(districtHead)
	q, err := e.s.Queue(wardCtx, wardO, feedback.QueueFilter{Status: "open"})
	if err != nil || len(q) != 1 || q[0].ID != ward {
		t.Fatalf("ward queue: %v %v", q, err)
	}
	if q, _ := e.s.Queue(westCtx, westO, feedback.QueueFilter{}); len(q) != 0 {
		t.Fatalf("the west commune sees %d reports", len(q))
	}
	if _, err := e.s.StaffReport(westCtx, westO, ward); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("the west commune read it: %v", err)
	}
	if _, err := e.s.StaffReport(headCtx, head, ward); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("the district read it before it was overdue: %v", err)
	}
	if od, _ := e.s.Overdue(headCtx, head, kernel.Page{}); len(od) != 0 {
		t.Fatalf("overdue too early: %d", len(od))
	}
	e.clock.Advance(8 * 24 * time.Hour) // past 7 days (infrastructure) and 5 (environment)
	od, err := e.s.Overdue(headCtx, head, kernel.Page{})
	if err != nil || len(od) != 2 {
		t.Fatalf("district overdue: %d %v", len(od), err)
	}
	d, err := e.s.StaffReport(headCtx, head, ward)
	if err != nil || !d.ReadOnly {
		t.Fatalf("district view: %+v %v", d.ReadOnly, err)
	}
	if _, err := e.s.Resolve(headCtx, head, ward, "x", nil); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("the district acted on the ward's report: %v", err)
	}
	if _, err := e.s.Overdue(wardCtx, wardO, kernel.Page{}); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a ward supervises: %v", err)
	}
	// Transfer: the report becomes the other agency's.
	if _, err := e.s.Transfer(wardCtx, wardO, ward, "H980.UBND", "Thuộc thẩm quyền huyện"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.StaffReport(wardCtx, wardO, ward); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("the ward still has it: %v", err)
	}
	if d, err := e.s.StaffReport(headCtx, head, ward); err != nil || d.ReadOnly {
		t.Fatalf("the district's now: %v %v", d.ReadOnly, err)
	}
}

// Staff look up a reporter's contact only with a purpose, and the look is
// in the data-use log; an anonymous report has nobody.
func TestContactIsLogged(t *testing.T) {
	e := newEnv(t)
	id := e.submit(citizen, "urban_infrastructure").Report.ID
	ctx, o := e.official(wardStaff)
	if _, err := e.s.Contact(ctx, o, id, ""); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("no purpose: %v", err)
	}
	p, err := e.s.Contact(ctx, o, id, "Hẹn gặp tại hiện trường")
	if err != nil || p.Phone == "" {
		t.Fatalf("contact: %+v %v", p, err)
	}
	if len(e.uses.got) != 1 || e.uses.got[0].CaseRef != id || e.uses.got[0].Agency != "X31011.UBND" {
		t.Fatalf("data use %+v", e.uses.got)
	}
	anon := e.submit("", "urban_infrastructure").Report.ID
	if _, err := e.s.Contact(ctx, o, anon, "x"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("anonymous: %v", err)
	}
}

// Sensitive reports are on no public page; nearby duplicates are offered
// only for open reports of the same category.
func TestSensitiveAndNearby(t *testing.T) {
	e := newEnv(t)
	sec := e.submit(citizen, "security_order").Report.ID
	if _, err := e.s.Public(e.ctx, sec); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("sensitive report public: %v", err)
	}
	if near, _ := e.s.Nearby(e.ctx, "security_order", 12.68, 108.05, 500); len(near) != 0 {
		t.Fatalf("sensitive nearby: %v", near)
	}
	a := e.submit(citizen, "urban_infrastructure").Report.ID
	near, err := e.s.Nearby(e.ctx, "urban_infrastructure", 12.6805, 108.0505, 150)
	if err != nil || len(near) != 1 || near[0].ID != a {
		t.Fatalf("nearby: %v %v", near, err)
	}
	if near, _ := e.s.Nearby(e.ctx, "urban_infrastructure", 12.70, 108.10, 150); len(near) != 0 {
		t.Fatalf("far away: %v", near)
	}
	if near, _ := e.s.Nearby(e.ctx, "traffic", 12.68, 108.05, 150); len(near) != 0 {
		t.Fatalf("another category: %v", near)
	}
	if _, err := e.s.Support(e.ctx, a, "192.0.2.4"); err != nil {
		t.Fatal(err)
	}
	if pub, _ := e.s.Public(e.ctx, a); pub.Supporters != 1 {
		t.Fatalf("supporters %d", pub.Supporters)
	}
	ctx, o := e.official(wardStaff)
	if _, err := e.s.Close(ctx, o, a, "Trùng lặp"); err != nil {
		t.Fatal(err)
	}
	if near, _ := e.s.Nearby(e.ctx, "urban_infrastructure", 12.68, 108.05, 150); len(near) != 0 {
		t.Fatalf("closed nearby: %v", near)
	}
}
