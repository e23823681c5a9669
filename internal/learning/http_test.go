package learning

import (
	"bytes"
	"context"
	"errors"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

// site is the learning pages on a live test server; /test/login/{id}
// signs an account in (?acr=1 at level 1), /test/act/{who} makes the
// session act for a child.
type site struct {
	*env
	srv *httptest.Server
	ws  *web.Server
}

func newSite(t *testing.T) *site {
	t.Helper()
	e := newEnv(t)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Mount(ws); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		acr := kernel.ACRLevel2
		if r.URL.Query().Get("acr") == "1" {
			acr = kernel.ACRLevel1
		}
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: acr, AuthTime: e.clock.Now()}); err != nil {
			ws.Error(w, r, err)
		}
	})
	ws.HandleFunc("GET /test/act/{who}", func(w http.ResponseWriter, r *http.Request) {
		if err := ws.SetActingFor(r, r.PathValue("who")); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &site{env: e, srv: srv, ws: ws}
}

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

// browser is a client signed in as citizenID's account ("" anonymous).
func (s *site) browser(citizenID string, level1 bool) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: s.t.(*testing.T), base: s.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if citizenID != "" {
		s.as(citizenID)
		q := ""
		if level1 {
			q = "?acr=1"
		}
		b.get("/test/login/acct-" + citizenID + q)
	}
	return b
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) token() string {
	b.t.Helper()
	_, page := b.get("/learning/courses/traffic-safety/lessons/01-walking")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the course page:\n%s", page)
	}
	return m[1]
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	req.Header.Set("Origin", b.base)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.token())
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) upload(path string, fields map[string]string, file []byte) (int, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", b.token())
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "questions.gift")
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var attemptPath = regexp.MustCompile(`^/learning/attempts/([a-z0-9]+)$`)

func TestPagesLearnerTakesACourse(t *testing.T) {
	s := newSite(t)
	anon := s.browser("", false)
	for _, tt := range []struct {
		path, want string
		status     int
	}{
		{"/learning", "An toàn giao thông cho học sinh", http.StatusOK},
		{"/learning/courses/traffic-safety", "Đi bộ và qua đường an toàn", http.StatusOK},
		{"/learning/courses/traffic-safety/lessons/01-walking", `lang="vi"`, http.StatusOK},
		{"/learning/courses/traffic-safety/lessons/01-walking?l=en", "Walking and crossing the road safely", http.StatusOK},
		{"/learning/courses/traffic-safety/lessons/01-walking?l=en", `hreflang="vi"`, http.StatusOK},
		{"/learning/courses/traffic-safety/images/crossing.svg", "<svg", http.StatusOK},
		{"/learning/courses/nope", "", http.StatusNotFound},
		{"/learning/classes", "", http.StatusOK},
		// ?lang= sticks (a cookie): the languages come last.
		{"/learning/courses/traffic-safety/lessons/01-walking?lang=ar", `<article class="lesson" lang="en" dir="ltr"`, http.StatusOK},
		{"/learning?lang=ar", "السلامة المرورية للطلاب", http.StatusOK},
	} {
		code, body := anon.get(tt.path)
		if code != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d, want %d with %q", tt.path, code, tt.status, tt.want)
		}
	}
	if code, loc := anon.get("/learning/attempts/x"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("anonymous attempt: %d %s", code, loc)
	}

	learner := s.persons[0].CitizenID
	b := s.browser(learner, true)
	if code, _ := b.post("/learning/courses/traffic-safety/enrol", nil); code != http.StatusSeeOther {
		t.Fatalf("enrol: %d", code)
	}
	// The final test stays shut until every lesson is read.
	if code, body := b.post("/learning/courses/traffic-safety/quizzes/final", nil); code != http.StatusForbidden || !strings.Contains(body, "learning-error") {
		t.Fatalf("final before reading: %d", code)
	}
	_, lessons, _ := s.s.Course(s.ctx, "traffic-safety")
	for i, l := range lessons {
		form := url.Values{}
		if i+1 < len(lessons) {
			form.Set("next", lessons[i+1].Slug)
		}
		if code, loc := b.post("/learning/courses/traffic-safety/lessons/"+l.Slug+"/read", form); code != http.StatusSeeOther || !strings.Contains(loc, "done=read") {
			t.Fatalf("read %s: %d %s", l.Slug, code, loc)
		}
	}
	code, loc := b.post("/learning/courses/traffic-safety/quizzes/final", nil)
	m := attemptPath.FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("start final: %d %s", code, loc)
	}
	id := m[1]
	code, page := b.get(loc)
	if code != http.StatusOK {
		t.Fatalf("attempt page: %d", code)
	}
	// Nothing in the page tells the answers: no feedback, no general
	// feedback, no accepted typed answer; choices are sent as positions.
	a := s.attempt(id)
	// What the learner may read: the page's main text less the questions,
	// their choices and the matching answers.
	text := plainOf(page[strings.Index(page, "<main"):strings.Index(page, "</main>")])
	for _, it := range a.Items {
		text = strings.ReplaceAll(text, plainOf(it.Q.Text), " ")
		for _, c := range it.Q.Choices {
			text = strings.ReplaceAll(text, plainOf(c.Text), " ")
		}
		for _, p := range it.Q.Pairs {
			text = strings.ReplaceAll(strings.ReplaceAll(text, plainOf(p.Sub), " "), p.Answer, " ")
		}
	}
	text = html.UnescapeString(text)
	for _, it := range a.Items {
		q := it.Q
		var secrets []string
		for _, c := range q.Choices {
			secrets = append(secrets, plainOf(c.Feedback))
		}
		for _, ans := range q.Answers {
			secrets = append(secrets, plainOf(ans.Feedback))
			if q.Kind == KindShort && ans.Text != "*" {
				secrets = append(secrets, ans.Text)
			}
		}
		secrets = append(secrets, plainOf(q.General), plainOf(q.TrueFeedback), plainOf(q.FalseFeedback), plainOf(q.Wrong))
		for _, sec := range secrets {
			if sec != "" && regexp.MustCompile(`(^|\P{L})`+regexp.QuoteMeta(sec)+`($|\P{L})`).MatchString(text) {
				t.Fatalf("the open attempt's page shows %q", sec)
			}
		}
	}
	for _, v := range regexp.MustCompile(`<input type="(?:radio|checkbox)" name="a\d+" id="[^"]+" value="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if _, err := strconv.Atoi(v[1]); err != nil && v[1] != "true" && v[1] != "false" {
			t.Fatalf("a choice's value %q", v[1])
		}
	}
	// Another person cannot open it.
	if code, _ := s.browser(s.persons[1].CitizenID, true).get(loc); code != http.StatusNotFound {
		t.Fatalf("a stranger opens the attempt: %d", code)
	}
	// The answers are scored here: the right ones pass and issue the certificate.
	form := url.Values(rightAnswers(t, a))
	if code, loc := b.post("/learning/attempts/"+id, form); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/learning/attempts/"+id) {
		t.Fatalf("submit: %d %s", code, loc)
	}
	_, review := b.get("/learning/attempts/" + id)
	if !strings.Contains(review, `id="attempt-score">100<`) || !strings.Contains(review, `id="certificate-link" href="/wallet/doc-1"`) {
		t.Fatalf("review:\n%s", review)
	}
	// A second submission changes nothing.
	if code, _ := b.post("/learning/attempts/"+id, url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("second submission: %d", code)
	}
	if _, review := b.get("/learning/attempts/" + id); !strings.Contains(review, `id="attempt-score">100<`) {
		t.Fatal("a second submission changed the score")
	}
	if _, home := b.get("/learning"); !strings.Contains(home, "certificate-link") {
		t.Fatal("the home page does not show the certificate")
	}
}

func TestPagesDesksNeedLevel2(t *testing.T) {
	s := newSite(t)
	teacher := s.persons[0].CitizenID
	class := s.schools.addClass(School{Code: "S1", Name: "Trường THPT Sông Xanh"}, "10A1", teacher, s.teens)
	officer := s.persons[1]
	agency := "X" + officer.UnitCode + ".UBND"
	s.officers.posts["acct-"+officer.CitizenID] = []Post{{AgencyCode: agency, AgencyName: "UBND xã", UnitCode: officer.UnitCode, Trainer: true, Author: true}}

	low := s.browser(teacher, true)
	if code, loc := low.get("/learning/teach/classes/" + class.ID); code != http.StatusSeeOther || !strings.Contains(loc, "acr=level2") {
		t.Fatalf("level 1 on the class page: %d %s", code, loc)
	}
	if code, _ := low.post("/learning/teach/classes/"+class.ID+"/assign", url.Values{"course": {"traffic-safety"}, "deadline": {"2026-04-01"}}); code != http.StatusForbidden {
		t.Fatalf("level 1 assigns: %d", code)
	}
	tb := s.browser(teacher, false)
	if code, _ := tb.post("/learning/teach/classes/"+class.ID+"/assign", url.Values{"course": {"traffic-safety"}, "deadline": {"2026-04-01"}}); code != http.StatusSeeOther {
		t.Fatalf("assign: %d", code)
	}
	code, page := tb.get("/learning/teach/classes/" + class.ID)
	if code != http.StatusOK || strings.Count(page, `class="card student"`) != len(s.teens) {
		t.Fatalf("class page: %d", code)
	}
	student := s.teens[0].CitizenID
	if code, page := tb.get("/learning/teach/classes/" + class.ID + "/students/" + student); code != http.StatusOK || !strings.Contains(page, s.teens[0].FullName) {
		t.Fatalf("student page: %d", code)
	}
	form := url.Values{"learner": {student}, "course": {"traffic-safety"}, "deadline": {"2026-05-01"}}
	if code, loc := tb.post("/learning/teach/classes/"+class.ID+"/extend", form); code != http.StatusSeeOther || !strings.Contains(loc, "/students/"+student+"?done=extended") {
		t.Fatalf("extend: %d %s", code, loc)
	}
	form.Set("deadline", "2026-03-01")
	if code, page := tb.post("/learning/teach/classes/"+class.ID+"/extend", form); code != http.StatusBadRequest || !strings.Contains(page, "learning-error") {
		t.Fatalf("extend into the past: %d", code)
	}
	if code, _ := tb.get("/learning/teach/classes/" + class.ID + "/students/" + s.persons[3].CitizenID); code != http.StatusNotFound {
		t.Fatalf("a student not in the class: %d", code)
	}
	if code, page := tb.get("/learning/teach/schools/S1"); code != http.StatusOK || !strings.Contains(page, "Trường THPT Sông Xanh") {
		t.Fatalf("school page: %d", code)
	}
	if code, _ := s.browser(s.persons[2].CitizenID, false).get("/learning/teach/classes/" + class.ID); code != http.StatusNotFound {
		t.Fatalf("someone else's class: %d", code)
	}

	ob := s.browser(officer.CitizenID, false)
	if code, _ := ob.get("/officer/learning"); code != http.StatusOK {
		t.Fatalf("officer desk: %d", code)
	}
	// A malformed GIFT file is refused with its line; an oversized one too.
	bad := []byte("::Q1:: Fine {=a ~b}\n\n::Q2:: Broken {=a ~b\n")
	code, page = ob.upload("/officer/learning/import", map[string]string{"agency": agency, "course": "online-safety", "bank": "extra"}, bad)
	if code != http.StatusBadRequest || !strings.Contains(page, "Dòng 3") {
		t.Fatalf("malformed GIFT: %d", code)
	}
	code, _ = ob.upload("/officer/learning/import", map[string]string{"agency": agency, "course": "online-safety", "bank": "extra"}, bytes.Repeat([]byte("x"), MaxGIFTBytes+128<<10))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized GIFT: %d", code)
	}
	good := []byte("::Q1:: [html]<p>Look <img src\\=\"@@PLUGINFILE@@/a.png\"></p>{T}\n\n::Q2:: Two {=a ~b}\n")
	code, page = ob.upload("/officer/learning/import", map[string]string{"agency": agency, "course": "online-safety", "bank": "extra"}, good)
	if code != http.StatusOK || !strings.Contains(page, "@@PLUGINFILE@@") || !strings.Contains(page, "Q1") {
		t.Fatalf("GIFT with a Moodle image: %d", code)
	}
}

// A guardian sees their child's courses on /learning, and learns for the
// child by acting for them: the enrolment is the child's.
func TestPagesGuardianAndChild(t *testing.T) {
	s := newSite(t)
	guardian, child := s.persons[0], s.children[0]
	s.as(guardian.CitizenID)
	s.accounts.deps["acct-"+guardian.CitizenID] = []Dependent{{CitizenID: child.CitizenID, Name: child.FullName}}
	if _, err := s.s.Enrol(kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: "acct-" + guardian.CitizenID}),
		child.CitizenID, "traffic-safety"); err != nil {
		t.Fatal(err)
	}
	b := s.browser(guardian.CitizenID, true)
	_, home := b.get("/learning")
	if !strings.Contains(home, html.EscapeString(child.FullName)) || !strings.Contains(home, `id="learner-1"`) || !strings.Contains(home, "/learning/courses/traffic-safety\">") {
		t.Fatalf("the guardian's page does not show the child's course:\n%s", home)
	}
	b.get("/test/act/person:" + child.CitizenID)
	if code, _ := b.post("/learning/courses/online-safety/enrol", nil); code != http.StatusSeeOther {
		t.Fatalf("enrol for the child: %d", code)
	}
	if _, page := b.get("/learning/courses/online-safety"); !strings.Contains(page, `id="acting-for"`) {
		t.Fatal("the course page does not say whom the guardian learns for")
	}
	lc, err := s.s.LearnerCourses(s.ctx, child.CitizenID)
	if err != nil || len(lc) != 2 {
		t.Fatalf("the child's courses: %+v, %v", lc, err)
	}
	if mine, _ := s.s.LearnerCourses(s.ctx, guardian.CitizenID); len(mine) != 0 {
		t.Fatalf("the guardian was enrolled: %+v", mine)
	}
}

// TestClassPageLogsEveryRead: the class page writes its students' reads
// to the data-use log while it is built, and is sent only once they are
// written: one record per student, and no page when the log refuses.
func TestClassPageLogsEveryRead(t *testing.T) {
	s := newSite(t)
	teacher := s.persons[0].CitizenID
	class := s.schools.addClass(School{Code: "S1", Name: "Trường THPT Sông Xanh"}, "10A1", teacher, s.teens)
	tb := s.browser(teacher, false)
	if code, _ := tb.post("/learning/teach/classes/"+class.ID+"/assign", url.Values{"course": {"traffic-safety"}, "deadline": {"2026-04-01"}}); code != http.StatusSeeOther {
		t.Fatalf("assign: %d", code)
	}
	for round := 1; round <= 3; round++ {
		code, page := tb.get("/learning/teach/classes/" + class.ID)
		if code != http.StatusOK || strings.Count(page, `class="card student"`) != len(s.teens) {
			t.Fatalf("class page: %d", code)
		}
		for _, st := range s.teens {
			if n := s.uses.count(st.CitizenID); n != round {
				t.Fatalf("after %d views, %s's progress read logged %d times", round, st.CitizenID, n)
			}
		}
	}
	s.uses.mu.Lock()
	s.uses.fail = errors.New("the data-use log is down")
	s.uses.mu.Unlock()
	code, page := tb.get("/learning/teach/classes/" + class.ID)
	if code == http.StatusOK || strings.Contains(page, `class="card student"`) || strings.Contains(page, s.teens[0].FullName) {
		t.Fatalf("the page was shown without its reads logged: %d", code)
	}
}
