package learning

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var pageTemplates embed.FS

//go:embed static/learning.css
var pageStyle []byte

// pages serves the learners', teachers' and technology teams' pages.
type pages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
	style string // the stylesheet's URL, named by its hash
}

// Mount serves the pages: the catalogue and a learner's courses
// (/learning), lessons, quizzes and their reviews, community classes
// (/learning/classes), the teachers' desk (/learning/teach) and the
// technology teams' desk (/officer/learning).
func (s *Service) Mount(ws *web.Server) error {
	for _, key := range pageKeys() {
		if !ws.Catalog().Has(key) {
			return fmt.Errorf("learning: message key %q is not in the catalogue", key)
		}
	}
	ps, err := ws.Pages(pageTemplates, "templates/*.html")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pageStyle)
	h := &pages{s: s, web: ws, pages: ps, style: "/learning/static/learning-" + hex.EncodeToString(sum[:6]) + ".css"}
	ws.HandleFunc("GET /learning", h.home)
	ws.HandleFunc("GET /learning/courses/{code}", h.course)
	ws.HandleFunc("POST /learning/courses/{code}/enrol", h.enrol)
	ws.HandleFunc("GET /learning/courses/{code}/lessons/{slug}", h.lesson)
	ws.HandleFunc("POST /learning/courses/{code}/lessons/{slug}/read", h.read)
	ws.HandleFunc("GET /learning/courses/{code}/images/{name}", h.image)
	ws.HandleFunc("POST /learning/courses/{code}/quizzes/{quiz}", h.start)
	ws.HandleFunc("GET /learning/attempts/{id}", h.attempt)
	ws.HandleFunc("POST /learning/attempts/{id}", h.submit)
	ws.HandleFunc("GET /learning/classes", h.classes)
	ws.HandleFunc("POST /learning/classes/{id}/book", h.book)
	ws.HandleFunc("GET /learning/static/{file}", h.stylesheet)
	h.mountTeach(ws)
	h.mountOfficer(ws)
	ws.AddNav(web.NavItem{Key: "nav.learning", Path: "/learning", Order: 60, Who: web.Everyone})
	return nil
}

// pageKeys are the message keys the pages build at run time, which the
// template check at start-up cannot see.
func pageKeys() []string {
	keys := []string{"nav.learning"}
	for _, a := range Areas() {
		keys = append(keys, "learning.area."+a)
	}
	for _, c := range Competences() {
		keys = append(keys, "learning.competence."+c)
	}
	for _, b := range []string{"foundation", "intermediate", "advanced", "specialised"} {
		keys = append(keys, "learning.band."+b)
	}
	for i := range masteryNames {
		keys = append(keys, "learning.mastery."+MasteryName(i))
	}
	for _, n := range notices {
		keys = append(keys, n)
	}
	return keys
}

// notices maps ?done= to a message, never echoing the query.
var notices = map[string]string{
	"enrolled":  "learningpages.notice.enrolled",
	"read":      "learningpages.notice.read",
	"booked":    "learningpages.notice.booked",
	"assigned":  "learningpages.notice.assigned",
	"reset":     "learningpages.notice.reset",
	"extended":  "learningpages.notice.extended",
	"scheduled": "learningpages.notice.scheduled",
	"added":     "learningpages.notice.added",
	"attended":  "learningpages.notice.attended",
	"trained":   "learningpages.notice.trained",
	"imported":  "learningpages.notice.imported",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// learner is who is learning in this request: the signed-in account's own
// citizen, or the child a guardian acts for in this session.
type learner struct {
	Account   Account
	CitizenID string
	ChildName string // when acting for a child
}

// signedIn returns the request's learner, or sends the browser to log in
// and come back.
func (h *pages) signedIn(w http.ResponseWriter, r *http.Request) (learner, bool) {
	l, err := h.learnerOf(r)
	if err == nil {
		return l, true
	}
	if kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return learner{}, false
	}
	next := "/learning"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	return learner{}, false
}

func (h *pages) learnerOf(r *http.Request) (learner, error) {
	sess, err := h.web.Session(r)
	if err != nil {
		return learner{}, err
	}
	if sess.AccountID == "" {
		return learner{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	a, err := h.s.o.Accounts.Account(r.Context(), sess.AccountID)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && !a.Active {
		return learner{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	if err != nil {
		return learner{}, err
	}
	l := learner{Account: a, CitizenID: a.CitizenID}
	if child, ok := strings.CutPrefix(sess.ActingFor, "person:"); ok {
		deps, err := h.s.o.Accounts.Dependents(r.Context(), a.ID)
		if err != nil {
			return learner{}, err
		}
		for _, d := range deps {
			if d.CitizenID == child {
				l.CitizenID, l.ChildName = child, d.Name
			}
		}
	}
	return l, nil
}

// stylesheet serves the pages' stylesheet under its hashed name.
func (h *pages) stylesheet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.style {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/css; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Content-Length", strconv.Itoa(len(pageStyle)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(pageStyle)
	}
}

// image serves a course's image. SVG is served under a CSP that lets
// nothing in it run, even opened on its own.
func (h *pages) image(w http.ResponseWriter, r *http.Request) {
	img, etag, err := h.s.Image(r.Context(), r.PathValue("code"), r.PathValue("name"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", img.ContentType)
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	hd.Set("Cache-Control", "public, max-age=3600")
	hd.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(img.Data)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(img.Data)
	}
}

// dateView is a time as pages receive it: its machine form, which they
// write for people with {{$.DateTime .X.ISO}} (a calendar day's ISO is
// "2006-01-02", written as a date alone); "" when there is none.
type dateView struct {
	ISO string
}

func dateOf(t time.Time) dateView {
	if t.IsZero() {
		return dateView{}
	}
	return dateView{ISO: t.UTC().Format(time.RFC3339)}
}

func dayOf(t time.Time) dateView {
	if t.IsZero() {
		return dateView{}
	}
	return dateView{ISO: t.In(kernel.Zone()).Format(time.DateOnly)}
}

// percent writes a score per mille as a whole percentage.
func percent(permille int) int { return (permille + 5) / 10 }

// courseCard is a course as lists show it.
type courseCard struct {
	Code, Title, Summary, Area, Competence, Band string
	Level, Lessons, Duration                     int
	// For a learner.
	Enrolled, Assigned, Passed bool
	Read                       int
	Deadline                   dateView
	Overdue                    bool
	Certificate                string
}

func (h *pages) card(r *http.Request, c CourseInfo) courseCard {
	lang := web.LangFrom(r.Context())
	return courseCard{Code: c.Code, Title: c.Title(lang), Summary: c.Summary(lang), Area: h.web.T(r, "learning.area."+c.Area),
		Competence: h.web.T(r, "learning.competence."+c.Competence), Band: h.web.T(r, "learning.band."+LevelBand(c.Level)),
		Level: c.Level, Lessons: c.Lessons, Duration: c.Duration}
}

// section is one learner's courses on the home page: the account's own or
// a child's.
type section struct {
	Name    string // a child's name; "" for the account's own
	Acting  bool   // the session acts for this child
	Courses []courseCard
	Mastery []masteryView
}

type masteryView struct {
	Competence string
	Level      string // the class and message key's last part
	Text       string
	Value      int // 0..4
}

type homeData struct {
	Style    string
	Notice   string
	SignedIn bool
	Sections []section
	Catalog  []courseCard
	Teacher  bool
}

func (h *pages) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := homeData{Style: h.style, Notice: notice(r)}
	courses, err := h.s.Courses(ctx)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	for _, c := range courses {
		d.Catalog = append(d.Catalog, h.card(r, c))
	}
	l, err := h.learnerOf(r)
	switch {
	case err == nil:
		d.SignedIn = true
		who := []Dependent{{CitizenID: l.Account.CitizenID}}
		deps, err := h.s.o.Accounts.Dependents(ctx, l.Account.ID)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		who = append(who, deps...)
		for _, p := range who {
			sec, err := h.section(r, p, l)
			if err != nil {
				h.web.Error(w, r, err)
				return
			}
			d.Sections = append(d.Sections, sec)
		}
		if classes, err := h.s.TeacherClasses(asAccount(ctx, l)); err == nil && len(classes) > 0 {
			d.Teacher = true
		}
	case kernel.ErrorCode(err) != kernel.Unauthenticated:
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "learning_home", d)
}

// asAccount is ctx with the account itself as actor (not the child it may
// act for): what the teachers' checks need.
func asAccount(ctx context.Context, l learner) context.Context {
	return kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: l.Account.ID})
}

func (h *pages) section(r *http.Request, p Dependent, l learner) (section, error) {
	ctx := r.Context()
	sec := section{Name: p.Name, Acting: p.Name != "" && p.CitizenID == l.CitizenID}
	lcs, err := h.s.LearnerCourses(ctx, p.CitizenID)
	if err != nil {
		return sec, err
	}
	now := h.s.now()
	for _, lc := range lcs {
		c := h.card(r, lc.Course)
		c.Enrolled, c.Assigned, c.Passed, c.Read = lc.Enrolled, lc.Assigned, lc.Enrolment.Passed(), lc.Enrolment.LessonsRead
		c.Deadline, c.Overdue, c.Certificate = dayOf(lc.Deadline), !lc.Deadline.IsZero() && now.After(lc.Deadline) && !c.Passed, lc.Enrolment.Certificate
		sec.Courses = append(sec.Courses, c)
	}
	ms, err := h.s.Mastery(ctx, p.CitizenID)
	if err != nil {
		return sec, err
	}
	for _, m := range ms {
		sec.Mastery = append(sec.Mastery, masteryView{Competence: h.web.T(r, "learning.competence."+m.Competence), Level: MasteryName(m.Level),
			Text: h.web.T(r, "learning.mastery."+MasteryName(m.Level)), Value: m.Level})
	}
	return sec, nil
}

// lessonRow is a lesson on its course's page.
type lessonRow struct {
	N        int
	Slug     string
	Title    string
	Duration int
	Read     bool
	Quiz     *QuizResult
	QuizBest int
}

type courseData struct {
	Style       string
	Notice      string
	Course      courseCard
	PassMark    int
	Attempts    int
	Lessons     []lessonRow
	SignedIn    bool
	ChildName   string
	Enrolled    bool
	ReadAll     bool
	Left        int // lessons left to read
	Final       QuizResult
	FinalBest   int
	FinalLeft   int
	Passed      bool
	PassedOn    dateView
	Certificate string
	CertPending bool
	Deadline    dateView
	Overdue     bool
	Error       string
}

func (h *pages) course(w http.ResponseWriter, r *http.Request) {
	h.renderCourse(w, r, http.StatusOK, "")
}

// renderCourse shows a course's page, with an error sentence when an
// action on it was refused.
func (h *pages) renderCourse(w http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx := r.Context()
	c, lessons, err := h.s.Course(ctx, r.PathValue("code"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lang := web.LangFrom(ctx)
	d := courseData{Style: h.style, Notice: notice(r), Course: h.card(r, c), PassMark: c.PassMark, Attempts: c.FinalAttempts, Error: errText}
	var p Progress
	if l, err := h.learnerOf(r); err == nil {
		d.SignedIn, d.ChildName = true, l.ChildName
		if p, err = h.s.Progress(ctx, l.CitizenID, c.Code); err != nil {
			h.web.Error(w, r, err)
			return
		}
	} else if kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return
	}
	read := 0
	for i, ls := range lessons {
		row := lessonRow{N: i + 1, Slug: ls.Slug, Title: ls.Title(lang), Duration: ls.Duration}
		if _, ok := p.Read[ls.Slug]; ok {
			row.Read = true
			read++
		}
		if q, ok := p.Quizzes[ls.Slug]; ok {
			row.Quiz, row.QuizBest = &q, percent(q.Best)
		}
		d.Lessons = append(d.Lessons, row)
	}
	d.Enrolled, d.ReadAll, d.Left = p.Enrolled, read == len(lessons), len(lessons)-read
	d.Final = p.Quizzes[FinalQuiz]
	d.FinalBest = percent(d.Final.Best)
	if p.Enrolled {
		d.FinalLeft = max(0, c.FinalAttempts-p.Enrolment.FinalUsed)
		d.Passed, d.PassedOn = p.Enrolment.Passed(), dayOf(p.Enrolment.PassedAt)
		d.Certificate, d.CertPending = p.Enrolment.Certificate, p.Enrolment.CertState == CertPending
	} else {
		d.FinalLeft = c.FinalAttempts
	}
	d.Deadline = dayOf(p.Deadline)
	d.Overdue = !p.Deadline.IsZero() && h.s.now().After(p.Deadline) && !d.Passed
	h.pages.Render(w, r, status, "learning_course", d)
}

// refusal turns an expected refusal into a sentence for the page; any
// other error is answered with the error page (ok false).
func (h *pages) refusal(w http.ResponseWriter, r *http.Request, err error) (string, int, bool) {
	code := kernel.ErrorCode(err)
	status := map[kernel.Code]int{kernel.Invalid: http.StatusBadRequest, kernel.Forbidden: http.StatusForbidden,
		kernel.Conflict: http.StatusConflict}[code]
	if status == 0 {
		h.web.Error(w, r, err)
		return "", 0, false
	}
	key, args := kernel.ErrorKey(err)
	if !h.web.Catalog().Has(key) {
		key, args = "error."+string(code), nil
	}
	return h.web.T(r, key, args...), status, true
}

func (h *pages) enrol(w http.ResponseWriter, r *http.Request) {
	l, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	code := r.PathValue("code")
	if _, err := h.s.Enrol(r.Context(), l.CitizenID, code); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/learning/courses/"+url.PathEscape(code)+"?done=enrolled", http.StatusSeeOther)
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

type lessonData struct {
	Style      string
	Course     courseCard
	N, Of      int
	Slug       string
	Title      string
	UITitle    string // the title in the reader's language, above a text in another
	Lang       string // the text's language, for lang=
	Dir        string
	Body       template.HTML
	Langs      []langLink
	Read       bool
	SignedIn   bool
	Prev       *lessonRow
	Next       *lessonRow
	HasQuiz    bool
	Competence string
	Duration   int
	Notice     string
}

// langNames are the interface's languages by their own names; other
// languages are named by their lessons (lang_name).
var langNames = map[string]string{"vi": "Tiếng Việt", "en": "English", "ar": "العربية"}

func (h *pages) lesson(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code, slug := r.PathValue("code"), r.PathValue("slug")
	c, lessons, err := h.s.Course(ctx, code)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	idx := -1
	for i, ls := range lessons {
		if ls.Slug == slug {
			idx = i
		}
	}
	if idx < 0 {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "learning.error.no_lesson"))
		return
	}
	ls := lessons[idx]
	uiLang := web.LangFrom(ctx)
	want := r.URL.Query().Get("l")
	if want == "" {
		want = uiLang
	}
	have := false
	for _, li := range ls.Langs {
		have = have || li.Code == want
	}
	if !have {
		// The interface's language when the lesson has it, else English
		// (its translation), else Vietnamese.
		want = "vi"
		for _, li := range ls.Langs {
			if li.Code == "en" && uiLang != "vi" {
				want = "en"
			}
		}
	}
	t, err := h.s.LessonText(ctx, code, slug, want)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := lessonData{Style: h.style, Course: h.card(r, c), N: idx + 1, Of: len(lessons), Slug: slug, Title: ls.Title(uiLang),
		Lang: t.Lang, Dir: "ltr", Body: template.HTML(t.HTML), Competence: h.web.T(r, "learning.competence."+ls.Competence),
		Duration: ls.Duration, Notice: notice(r)} // t.HTML was made safe at import (RenderMarkdown)
	if t.Lang == "ar" {
		d.Dir = "rtl"
	}
	d.Title = t.Title // the article's own language
	if t.Lang != uiLang && ls.Titles[uiLang] != "" && ls.Titles[uiLang] != t.Title {
		d.UITitle = ls.Titles[uiLang] // the title in the reader's language, above a text in another
	}
	for _, li := range ls.Langs {
		name := langNames[li.Code]
		if name == "" {
			name = li.Name
		}
		if name == "" {
			name = li.Code
		}
		d.Langs = append(d.Langs, langLink{Code: li.Code, Name: name, Href: LessonURL(code, slug) + "?l=" + url.QueryEscape(li.Code), Current: li.Code == t.Lang})
	}
	if idx > 0 {
		d.Prev = &lessonRow{Slug: lessons[idx-1].Slug, Title: lessons[idx-1].Title(uiLang)}
	}
	if idx+1 < len(lessons) {
		d.Next = &lessonRow{Slug: lessons[idx+1].Slug, Title: lessons[idx+1].Title(uiLang)}
	}
	if l, err := h.learnerOf(r); err == nil {
		d.SignedIn = true
		p, err := h.s.Progress(ctx, l.CitizenID, code)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		_, d.Read = p.Read[slug]
	}
	d.HasQuiz = h.s.hasBank(ctx, code, slug)
	h.pages.Render(w, r, http.StatusOK, "learning_lesson", d)
}

func (s *Service) hasBank(ctx context.Context, code, bank string) bool {
	var n int
	err := s.o.DB.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM learning_questions WHERE course = ? AND bank = ? AND retired = 0 LIMIT 1) t`, code, bank).Scan(&n)
	return err == nil && n > 0
}

func (h *pages) read(w http.ResponseWriter, r *http.Request) {
	l, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	code, slug := r.PathValue("code"), r.PathValue("slug")
	if err := h.s.MarkRead(r.Context(), l.CitizenID, code, slug); err != nil {
		h.web.Error(w, r, err)
		return
	}
	next := "/learning/courses/" + url.PathEscape(code) + "?done=read"
	if n := r.PostFormValue("next"); n != "" && lessonSlugOK(n) {
		next = LessonURL(url.PathEscape(code), n) + "?done=read"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func lessonSlugOK(s string) bool {
	m := lessonFileRE.FindStringSubmatch(s + ".vi.md")
	return m != nil && m[1] == s
}

func (h *pages) start(w http.ResponseWriter, r *http.Request) {
	l, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	id, err := h.s.StartAttempt(r.Context(), l.CitizenID, r.PathValue("code"), r.PathValue("quiz"))
	if err != nil {
		if msg, status, ok := h.refusal(w, r, err); ok {
			h.renderCourse(w, r, status, msg)
		}
		return
	}
	http.Redirect(w, r, "/learning/attempts/"+url.PathEscape(id), http.StatusSeeOther)
}

// optionView and itemView are an attempt's questions for the template.
type optionView struct {
	ID, Value string
	Text      template.HTML
	Chosen    bool
	Right     bool
}

type matchView struct {
	ID, Name, Text string
}

type itemView struct {
	N        int
	Kind     string
	Text     template.HTML
	Options  []optionView
	Matches  []matchView
	Answers  []optionView // matching: the answers each list offers
	Scored   bool
	Result   string // right, partly, wrong
	Percent  int
	Feedback []template.HTML
	Given    []string
	Right    []string
}

type attemptData struct {
	Style       string
	ID          string
	Course      courseCard
	QuizTitle   string
	Final       bool
	Submitted   bool
	Score       int
	Passed      bool
	PassMark    int
	Items       []itemView
	Started     dateView
	SubmittedAt dateView
	Certificate string
	Completed   bool
	Error       string
	ChildName   string
}

// inline unwraps a lone paragraph, for text inside a label.
func inline(h string) template.HTML {
	if strings.HasPrefix(h, "<p>") && strings.HasSuffix(h, "</p>") && strings.Count(h, "<p>") == 1 {
		h = h[3 : len(h)-4]
	}
	return template.HTML(h) // made safe at import
}

func (h *pages) attemptView(r *http.Request, v AttemptView) (attemptData, error) {
	ctx := r.Context()
	c, lessons, err := h.s.Course(ctx, v.Course)
	if err != nil {
		return attemptData{}, err
	}
	lang := web.LangFrom(ctx)
	d := attemptData{Style: h.style, ID: v.ID, Course: h.card(r, c), Final: v.Quiz == FinalQuiz, Submitted: v.Submitted(),
		Score: percent(v.Score), Passed: v.Passed, PassMark: v.PassMark, Started: dateOf(v.StartedAt), SubmittedAt: dateOf(v.SubmittedAt)}
	d.QuizTitle = h.web.T(r, "learningpages.final.title")
	for _, l := range lessons {
		if l.Slug == v.Quiz {
			d.QuizTitle = h.web.T(r, "learningpages.quiz.of", l.Title(lang))
		}
	}
	for _, it := range v.Items {
		iv := itemView{N: it.N, Kind: string(it.Kind), Text: template.HTML(it.Text), Scored: it.Scored, Given: it.Given, Right: it.Right,
			Percent: int(it.Fraction*100 + 0.5)}
		switch {
		case !it.Scored:
		case it.Fraction >= 0.9999:
			iv.Result = "right"
		case it.Fraction > 0:
			iv.Result = "partly"
		default:
			iv.Result = "wrong"
		}
		for _, f := range it.Feedback {
			iv.Feedback = append(iv.Feedback, inline(f))
		}
		prefix := "a" + strconv.Itoa(it.N)
		switch it.Kind {
		case KindTrueFalse:
			iv.Options = []optionView{
				{ID: prefix + "-true", Value: "true", Text: template.HTML(template.HTMLEscapeString(h.web.T(r, "learningpages.quiz.true")))},
				{ID: prefix + "-false", Value: "false", Text: template.HTML(template.HTMLEscapeString(h.web.T(r, "learningpages.quiz.false")))},
			}
			for i, o := range it.Options {
				iv.Options[i].Right = o.Right
				iv.Options[i].Chosen = len(it.Given) == 1 && it.Given[0] == o.Value
			}
		case KindMatching:
			for k, item := range it.Items {
				iv.Matches = append(iv.Matches, matchView{ID: prefix + "-" + strconv.Itoa(k+1), Name: prefix + "." + strconv.Itoa(k+1), Text: plainOf(item)})
			}
			for _, o := range it.Options {
				iv.Answers = append(iv.Answers, optionView{Value: o.Value, Text: template.HTML(template.HTMLEscapeString(o.Text))})
			}
		default:
			for _, o := range it.Options {
				iv.Options = append(iv.Options, optionView{ID: prefix + "-" + o.Value, Value: o.Value, Text: inline(o.Text), Chosen: o.Chosen, Right: o.Right})
			}
		}
		d.Items = append(d.Items, iv)
	}
	return d, nil
}

func (h *pages) attempt(w http.ResponseWriter, r *http.Request) {
	l, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.renderAttempt(w, r, l, http.StatusOK, "")
}

func (h *pages) renderAttempt(w http.ResponseWriter, r *http.Request, l learner, status int, errText string) {
	v, err := h.s.ViewAttempt(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d, err := h.attemptView(r, v)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d.Error, d.ChildName = errText, l.ChildName
	if d.Final && d.Passed {
		if p, err := h.s.Progress(r.Context(), v.Learner, v.Course); err == nil {
			d.Certificate, d.Completed = p.Enrolment.Certificate, true
		}
	}
	h.pages.Render(w, r, status, "learning_attempt", d)
}

// maxAnswerForm bounds a quiz form: a hundred questions of short answers.
const maxAnswerForm = 64 << 10

func (h *pages) submit(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.signedIn(w, r); !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAnswerForm)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.web.Error(w, r, kernel.E(kernel.Invalid, "learningpages.error.form_too_large"))
			return
		}
		h.web.Error(w, r, kernel.E(kernel.Invalid, "error.invalid"))
		return
	}
	_, err := h.s.SubmitAttempt(r.Context(), r.PathValue("id"), Answers(r.PostForm))
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Conflict {
			// Submitted already (a second tab, a double tap): show the review.
			http.Redirect(w, r, "/learning/attempts/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
			return
		}
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/learning/attempts/"+url.PathEscape(r.PathValue("id"))+"#result", http.StatusSeeOther)
}

// sessionView is a community class as its list shows it.
type sessionView struct {
	ID, Title, Place, Topic, Unit string
	Starts, Ends                  dateView
	Left                          int
	Full, Booked                  bool
}

type classesData struct {
	Style    string
	Notice   string
	SignedIn bool
	Unit     string
	Sessions []sessionView
	Next     string
	Error    string
}

func (h *pages) sessionView(r *http.Request, s Session) sessionView {
	topic := h.web.T(r, "learningpages.classes.basic")
	if s.Topic != TopicBasic {
		if c, _, err := h.s.Course(r.Context(), s.Topic); err == nil {
			topic = c.Title(web.LangFrom(r.Context()))
		}
	}
	unit := s.Unit
	if u, err := h.s.unitName(r.Context(), s.Unit); err == nil {
		unit = u
	}
	return sessionView{ID: s.ID, Title: s.Title, Place: s.Place, Topic: topic, Unit: unit, Starts: dateOf(s.StartsAt), Ends: dateOf(s.EndsAt),
		Left: max(0, s.Capacity-s.Booked), Full: s.Full()}
}

func (s *Service) unitName(ctx context.Context, code string) (string, error) {
	var name string
	err := s.o.DB.QueryRow(ctx, `SELECT name FROM units WHERE code = ?`, code).Scan(&name)
	return name, err
}

func (h *pages) classes(w http.ResponseWriter, r *http.Request) {
	h.renderClasses(w, r, http.StatusOK, "")
}

func (h *pages) renderClasses(w http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx := r.Context()
	q := r.URL.Query()
	d := classesData{Style: h.style, Notice: notice(r), Unit: q.Get("unit"), Error: errText}
	list, err := h.s.Sessions(ctx, d.Unit, kernel.Page{After: q.Get("after"), Limit: 30})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	var booked map[string]bool
	if l, err := h.learnerOf(r); err == nil {
		d.SignedIn = true
		if booked, err = h.s.Booked(ctx, l.CitizenID); err != nil {
			h.web.Error(w, r, err)
			return
		}
	}
	for _, s := range list {
		v := h.sessionView(r, s)
		v.Booked = booked[s.ID]
		d.Sessions = append(d.Sessions, v)
	}
	if len(list) == 30 {
		d.Next = list[len(list)-1].ID
	}
	h.pages.Render(w, r, status, "learning_classes", d)
}

func (h *pages) book(w http.ResponseWriter, r *http.Request) {
	l, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if err := h.s.Book(r.Context(), l.CitizenID, r.PathValue("id")); err != nil {
		if msg, status, ok := h.refusal(w, r, err); ok {
			h.renderClasses(w, r, status, msg)
		}
		return
	}
	http.Redirect(w, r, "/learning/classes?done=booked", http.StatusSeeOther)
}
