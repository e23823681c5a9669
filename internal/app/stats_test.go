package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"civitas/internal/db"
	"civitas/internal/identity"
	"civitas/internal/stats"
	"civitas/internal/tally"
)

// TestStatsIndicatorsLive holds the fixed contract of
// /api/stats/v1/indicators: exact counts for every unit level, live the
// moment a change commits, whatever made it; bad days and units get a
// clear 400. Open data's CSV has a header and adds up; a rebuild finds
// the figures right, then finds and corrects a figure tampered with.
func TestStatsIndicatorsLive(t *testing.T) {
	s := startSite(t)
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := s.a.db.QueryRow(s.ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	figures := func(unit, date string) (int, map[string]any) {
		t.Helper()
		return s.call("GET", "/api/stats/v1/indicators?unit="+unit+"&date="+date, "", "", nil)
	}
	num := func(m map[string]any, key string) int64 {
		t.Helper()
		in, ok := m["indicators"].(map[string]any)
		if !ok {
			t.Fatalf("no indicators in %v", m)
		}
		v, ok := in[key].(float64)
		if !ok {
			t.Fatalf("no %s in %v", key, in)
		}
		return int64(v)
	}
	commune := s.person.UnitCode
	var district, province string
	if err := s.a.db.QueryRow(s.ctx, `SELECT parent_code FROM units WHERE code = ?`, commune).Scan(&district); err != nil {
		t.Fatal(err)
	}
	if err := s.a.db.QueryRow(s.ctx, `SELECT parent_code FROM units WHERE code = ?`, district).Scan(&province); err != nil {
		t.Fatal(err)
	}
	today := tally.Day(s.a.clock.Now())
	check := func() {
		t.Helper()
		for _, u := range []struct{ code, where string }{
			{commune, "unit_code = '" + commune + "'"},
			{district, "unit_code IN (SELECT code FROM units WHERE parent_code = '" + district + "')"},
			{province, "1 = 1"},
		} {
			st, m := figures(u.code, today)
			if st != http.StatusOK || m["unit"] != u.code || m["date"] != today {
				t.Fatalf("%s: %d %v", u.code, st, m)
			}
			for key, want := range map[string]int64{
				"eid_level2_issued":    count(`SELECT COUNT(*) FROM accounts WHERE level = 2 AND ` + u.where),
				"eid_level2_activated": count(`SELECT COUNT(*) FROM accounts WHERE level = 2 AND status = 'active' AND ` + u.where),
				"signature_holders":    count(`SELECT COUNT(DISTINCT account_id) FROM signing_credentials WHERE ` + u.where),
				"adults":               count(`SELECT COUNT(*) FROM persons WHERE birth_date <= ? AND died_on = '' AND `+u.where, s.a.clock.Now().AddDate(-18, 0, 0).Format("2006-01-02")),
			} {
				if got := num(m, key); got != want {
					t.Errorf("%s %s = %d, counted %d", u.code, key, got, want)
				}
			}
		}
	}
	check()
	if st, m := figures(commune, today); num(m, "eid_level2_issued") < 1 || st != http.StatusOK {
		t.Fatalf("the site's account does not count: %v", m)
	}
	// A new account and a signing credential count at once.
	var other string
	if err := s.a.db.QueryRow(s.ctx, `SELECT citizen_id FROM persons WHERE unit_code = ? AND birth_date < '2000-01-01'
		AND citizen_id NOT IN (SELECT citizen_id FROM accounts) ORDER BY citizen_id LIMIT 1`, commune).Scan(&other); err != nil {
		t.Fatal(err)
	}
	_, before := figures(commune, today)
	acc, err := s.a.identity.AddAccount(s.ctx, identity.NewAccount{CitizenID: other, Level: 2, Password: "a long test password 3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.signing.Enrol(s.ctx, acc.ID, other, commune); err != nil {
		t.Fatal(err)
	}
	_, after := figures(commune, today)
	if num(after, "eid_level2_issued") != num(before, "eid_level2_issued")+1 || num(after, "signature_holders") != num(before, "signature_holders")+1 {
		t.Fatalf("before %v, after %v", before, after)
	}
	check()

	// Bad input: a clear 400 in JSON.
	for _, q := range []string{"unit=99999&date=" + today, "unit=" + commune + "&date=2026-13-01", "unit=" + commune + "&date=yesterday", "unit=" + commune + "&date=2999-01-01"} {
		st, m := s.call("GET", "/api/stats/v1/indicators?"+q, "", "", nil)
		if st != http.StatusBadRequest || m["detail"] == nil || m["detail"] == "" {
			t.Errorf("%s: %d %v", q, st, m)
		}
	}
	if st, _ := s.call("GET", "/open-data/indicators.csv?level=village", "", "", nil); st != http.StatusBadRequest {
		t.Errorf("bad level: %d", st)
	}

	// Open data: a header, one row per commune, small counts blank.
	resp, err := http.Get(s.base + "/open-data/indicators.csv?level=commune")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(recs) < 2 {
		t.Fatalf("csv: %d %v %v", resp.StatusCode, err, recs)
	}
	if strings.Join(recs[0][:6], ",") != "date,unit,name,level,parent,population" {
		t.Fatalf("header %v", recs[0])
	}
	// No personal data in open data or on the public pages.
	for _, path := range []string{"/open-data/indicators.csv?level=commune", "/open-data/indicators.json?level=commune", "/stats?unit=" + commune} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), s.person.CitizenID) || strings.Contains(string(b), s.person.FullName) {
			t.Fatalf("%s names %s", path, s.person.CitizenID)
		}
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if int64(len(recs)-1) != count(`SELECT COUNT(*) FROM units WHERE level = 'commune'`) {
		t.Fatalf("%d rows", len(recs)-1)
	}
	for _, r := range recs[1:] {
		if v := r[col["eid_level2_issued"]]; v != "" {
			if n, _ := strconv.Atoi(v); n > 0 && n < 10 {
				t.Fatalf("a small count shown: %v", r)
			}
		}
	}

	// sqlite3, a client nobody here wrote, imports the CSV as a table.
	if _, err := exec.LookPath("sqlite3"); err == nil {
		f := filepath.Join(t.TempDir(), "indicators.csv")
		var b strings.Builder
		w := csv.NewWriter(&b)
		_ = w.WriteAll(recs)
		if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sqlite3", ":memory:", ".import --csv "+f+" indicators",
			"SELECT COUNT(*), SUM(CAST(adults AS INTEGER)) FROM indicators").CombinedOutput()
		want := strconv.Itoa(len(recs)-1) + "|"
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), want) {
			t.Fatalf("sqlite3 .import: %v %s (want %s...)", err, out, want)
		}
	}

	// Rebuild: right; then a figure tampered with is found and corrected.
	diffs, err := s.a.Stats().Rebuild(s.ctx, true)
	if err != nil || len(diffs) != 0 {
		t.Fatalf("rebuild: %v %v", diffs, err)
	}
	if err := s.a.db.Update(s.ctx, s.a.clock.Now(), func(tx *db.Tx) error {
		tally.Add(s.ctx, tx, "eid.level2_activated", commune, 3)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	diffs, err = s.a.Stats().Rebuild(s.ctx, true)
	if err != nil || len(diffs) != 1 || diffs[0].Unit != commune || diffs[0].Kept-diffs[0].Counted != 3 {
		t.Fatalf("rebuild after tampering: %v %v", diffs, err)
	}
	if diffs, err := s.a.Stats().Rebuild(s.ctx, false); err != nil || len(diffs) != 0 {
		t.Fatalf("rebuild after correction: %v %v", diffs, err)
	}
	// A headcount the registry keeps, tampered with: found, and corrected.
	var cellUnit string
	var year int
	if err := s.a.db.Update(s.ctx, s.a.clock.Now(), func(tx *db.Tx) error {
		if err := tx.QueryRow(s.ctx, "SELECT unit_code, birth_year FROM person_year_cells WHERE living > 0 ORDER BY unit_code, birth_year LIMIT 1").Scan(&cellUnit, &year); err != nil {
			return err
		}
		_, err := tx.Exec(s.ctx, "UPDATE person_year_cells SET living = living + 2 WHERE unit_code = ? AND birth_year = ?", cellUnit, year)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	diffs, err = s.a.Stats().Rebuild(s.ctx, true)
	if err != nil || len(diffs) != 1 || diffs[0].Unit != cellUnit || diffs[0].Kept-diffs[0].Counted != 2 ||
		diffs[0].Indicator != fmt.Sprintf("living persons born in %d", year) {
		t.Fatalf("rebuild after tampering with a headcount: %v %v", diffs, err)
	}
	if diffs, err := s.a.Stats().Rebuild(s.ctx, false); err != nil || len(diffs) != 0 {
		t.Fatalf("rebuild after correcting the headcount: %v %v", diffs, err)
	}
	check()
}

// TestStatsDashboards: the dashboards in three languages, their charts
// valid SVG (xmllint), the demo's running campaign with its targets,
// support points and visits; bad input a clear error page.
func TestStatsDashboards(t *testing.T) {
	s := startSite(t)
	get := func(path, lang string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for lang, want := range map[string]string{"vi": "Chuyển đổi số", "en": "Digital adoption", "ar": "التحول الرقمي"} {
		st, body := get("/stats", lang)
		if st != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "<svg") || !strings.Contains(body, "30 ngày chữ ký số") {
			t.Fatalf("%s: %d %.2000s", lang, st, body)
		}
	}
	cs, err := s.a.Stats().Campaigns(s.ctx, s.person.UnitCode, "")
	if err != nil || len(cs) != 1 || len(cs[0].Targets) != 2 || len(cs[0].Points) == 0 || len(cs[0].Visits) == 0 {
		t.Fatalf("campaigns %+v %v", cs, err)
	}
	st, body := get("/stats/campaigns/"+cs[0].ID, "en")
	if st != http.StatusOK || !strings.Contains(body, "Support points") || !strings.Contains(body, "UBND") {
		t.Fatalf("campaign: %d %.2000s", st, body)
	}
	if st, body := get("/stats?unit="+s.person.UnitCode+"&indicator=eid_level2_issued", "en"); st != http.StatusOK || !strings.Contains(body, `id="trend"`) {
		t.Fatalf("commune: %d %.2000s", st, body)
	}
	// The links to other units keep the chosen figure and day as query parameters.
	if st, body := get("/stats?indicator=signature_holders", "en"); st != http.StatusOK || !strings.Contains(body, "&amp;indicator=signature_holders&amp;date=") ||
		strings.Contains(body, "indicator%3d") || strings.Contains(body, "indicator%3D") {
		t.Fatalf("links to other units: %d %.3000s", st, body)
	}
	for _, q := range []string{"indicator=nonsense", "date=2026-02-30", "unit=12"} {
		if st, body := get("/stats?"+q, "en"); st != http.StatusBadRequest || strings.Contains(body, "goroutine") {
			t.Errorf("%s: %d", q, st)
		}
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint missing")
	}
	for _, q := range []string{"kind=bars", "kind=trend&indicator=eid_level2_issued", "kind=bars&indicator=adults"} {
		st, svg := get("/stats/chart.svg?"+q, "ar")
		if st != http.StatusOK {
			t.Fatalf("%s: %d", q, st)
		}
		f := filepath.Join(t.TempDir(), "chart.svg")
		if err := os.WriteFile(f, []byte(svg), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("xmllint", "--noout", f).CombinedOutput(); err != nil {
			t.Fatalf("xmllint %s: %v %s", q, err, out)
		}
	}
}

// TestStatsWorklist: staff of the commune see its residents still lacking
// an e-ID or a signature, by household, each view in the data-use log with
// its purpose; anyone else is refused; a visit's outcome is kept.
func TestStatsWorklist(t *testing.T) {
	s := startSite(t)
	commune := s.person.UnitCode
	var area string
	if err := s.a.db.QueryRow(s.ctx, `SELECT r.area_code FROM residences r JOIN persons p ON p.household_id = r.household_id
		WHERE p.citizen_id = ? AND r.relation = 'head' AND r.kind = 'permanent' AND r.until_date = ''`, s.person.CitizenID).Scan(&area); err != nil {
		t.Fatal(err)
	}
	// An official of an agency of this commune, and one of another commune.
	official := func(same bool) string {
		t.Helper()
		var cid string
		q := `SELECT o.citizen_id FROM officials o JOIN agencies a ON a.code = o.agency_code
			JOIN units u ON u.code = a.unit_code WHERE u.level = 'commune' AND a.unit_code = ? AND o.citizen_id NOT IN (SELECT citizen_id FROM accounts)
			ORDER BY o.citizen_id LIMIT 1`
		if !same { // no post in the commune or its district
			q = `SELECT o.citizen_id FROM officials o WHERE o.citizen_id NOT IN (SELECT citizen_id FROM accounts)
			AND NOT EXISTS (SELECT 1 FROM officials o2 JOIN agencies a ON a.code = o2.agency_code WHERE o2.citizen_id = o.citizen_id
				AND (a.unit_code = ? OR a.unit_code = (SELECT parent_code FROM units WHERE code = ?)))
			ORDER BY o.citizen_id LIMIT 1`
		}
		args := []any{commune}
		if !same {
			args = append(args, commune)
		}
		if err := s.a.db.QueryRow(s.ctx, q, args...).Scan(&cid); err != nil {
			t.Fatal(err)
		}
		acc, err := s.a.identity.AddAccount(s.ctx, identity.NewAccount{CitizenID: cid, Level: 2, Password: "a long test password 9"})
		if err != nil {
			t.Fatal(err)
		}
		return acc.ID
	}
	staffID := official(true)
	outsiderID := official(false)
	staff, outsider := s.browser(staffID), s.browser(outsiderID)
	count := func(t *testing.T, s *site, q string) int64 {
		t.Helper()
		var n int64
		if err := s.a.db.QueryRow(s.ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	page := func(c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := c.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	path := "/officer/worklist?unit=" + commune + "&area=" + area
	before := count(t, s, `SELECT COUNT(*) FROM exchange_log WHERE channel = 'stats.worklist' AND purpose = 'stats.adoption_outreach'`)
	st, body := page(staff, path)
	if st != http.StatusOK {
		t.Fatalf("staff: %d %.3000s", st, body)
	}
	listed := count(t, s, `SELECT COUNT(*) FROM exchange_log WHERE channel = 'stats.worklist' AND purpose = 'stats.adoption_outreach'`) - before
	if listed == 0 || !strings.Contains(body, "người cần thăm") {
		t.Fatalf("nothing listed or logged (%d): %.3000s", listed, body)
	}
	// s.person has an active level-2 account but no signature: listed for a signature.
	if !strings.Contains(body, s.person.FullName) {
		t.Fatalf("%s is not on the list", s.person.FullName)
	}
	if st, _ := page(outsider, path); st != http.StatusForbidden {
		ps, _ := statsStaff{s.a.identity}.Posts(s.ctx, outsiderID)
		t.Fatalf("outsider: %d %+v", st, ps)
	}
	if st, _ := page(s.browser(s.stranger.ID), path); st != http.StatusForbidden {
		t.Fatalf("citizen: %d", st)
	}
	if st, _ := page(http.DefaultClient, path); st != http.StatusOK { // redirected to the login page
		t.Fatalf("anonymous: %d", st)
	}
	if st, _ := page(staff, "/officer/worklist?unit="+commune+"&area=nowhere"); st != http.StatusBadRequest {
		t.Fatalf("bad area: %d", st)
	}
	for _, bad := range []string{"0", "two", "99"} {
		if st, body := page(staff, path+"&page="+bad); st != http.StatusBadRequest || !strings.Contains(body, "không có trang") {
			t.Fatalf("page %s: %d %.2000s", bad, st, body)
		}
	}
	// A visit marked from the page's form goes back to that page; when
	// the list no longer reaches it, to the first.
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body)
	if token == nil {
		t.Fatalf("no form on the worklist:\n%.3000s", body)
	}
	form := url.Values{"csrf_token": {token[1]}, "unit": {commune}, "area": {area}, "need": {""}, "page": {"2"},
		"citizen_id": {s.person.CitizenID}, "outcome": {stats.OutcomeDone}}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/officer/worklist/outcome", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err := staff.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	marked, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if q := resp.Request.URL.Query(); resp.StatusCode != http.StatusOK || q.Get("page") != "2" || q.Get("marked") != "1" ||
		!strings.Contains(string(marked), s.person.FullName) {
		t.Fatalf("after marking: %d %s %.2000s", resp.StatusCode, resp.Request.URL, marked)
	}
	// The whole list to print: the same people, without the forms.
	if st, body := page(staff, path+"&all=1"); st != http.StatusOK || !strings.Contains(body, s.person.FullName) || strings.Contains(body, "/officer/worklist/outcome") {
		t.Fatalf("whole list: %d %.3000s", st, body)
	}
	// The letters for those without a phone: a PDF qpdf finds sound, one
	// page a person after the list, each a logged read.
	// (The demo gives most adults a phone: one of this area loses theirs.)
	if _, err := s.a.db.WritePool().ExecContext(s.ctx, s.a.db.Rebind(`UPDATE persons SET phone = '' WHERE citizen_id = (
		SELECT p.citizen_id FROM persons p JOIN residences r ON r.household_id = p.household_id
		WHERE r.area_code = ? AND r.relation = 'head' AND r.kind = 'permanent' AND r.until_date = '' AND p.birth_date < '2000-01-01'
		AND p.died_on = '' AND p.citizen_id NOT IN (SELECT citizen_id FROM accounts) ORDER BY p.citizen_id LIMIT 1)`), area); err != nil {
		t.Fatal(err)
	}
	resp, err = staff.Get(s.base + "/officer/worklist/letters.pdf?unit=" + commune + "&area=" + area)
	if err != nil {
		t.Fatal(err)
	}
	letters, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(letters), "%PDF-") {
		t.Fatalf("letters: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	logged := count(t, s, `SELECT COUNT(*) FROM exchange_log WHERE channel = 'stats.letters'`)
	if logged == 0 {
		t.Fatal("no letter")
	}
	if _, err := exec.LookPath("qpdf"); err == nil {
		f := filepath.Join(t.TempDir(), "letters.pdf")
		if err := os.WriteFile(f, letters, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("qpdf", "--check", f).CombinedOutput(); err != nil {
			t.Fatalf("qpdf --check: %v %s", err, out)
		}
		out, err := exec.Command("qpdf", "--show-npages", f).Output()
		if err != nil || strings.TrimSpace(string(out)) != strconv.FormatInt(logged+1, 10) {
			t.Fatalf("%s pages for %d letters (%v)", out, logged, err)
		}
	}
	if st, _ := page(outsider, "/officer/worklist/letters.pdf?unit="+commune+"&area="+area); st != http.StatusForbidden {
		t.Fatalf("outsider's letters: %d", st)
	}

	// A visit's outcome is kept and shown.
	posts, err := statsStaff{s.a.identity}.Posts(s.ctx, staffID)
	if err != nil || len(posts) == 0 {
		t.Fatalf("posts %v %v", posts, err)
	}
	o := stats.Official{AccountID: staffID, Posts: posts}
	if err := s.a.Stats().MarkOutcome(s.ctx, o, commune, area, s.person.CitizenID, stats.OutcomeNotHome); err != nil {
		t.Fatal(err)
	}
	if err := s.a.Stats().MarkOutcome(s.ctx, o, commune, area, s.person.CitizenID, "vanished"); err == nil {
		t.Fatal("a bad outcome was kept")
	}
	w, err := s.a.Stats().Worklist(s.ctx, o, commune, area, stats.NeedSignature, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range w.Households {
		for _, r := range h.Residents {
			if r.CitizenID == s.person.CitizenID {
				found = r.Outcome == stats.OutcomeNotHome && r.Need == stats.NeedSignature
			}
		}
	}
	if !found {
		t.Fatalf("%s not listed with the outcome: %+v", s.person.CitizenID, w)
	}
	if _, err := s.a.Stats().Worklist(s.ctx, stats.Official{AccountID: s.stranger.ID}, commune, area, "", 1); err == nil {
		t.Fatal("a citizen without a post saw a worklist")
	}
}
