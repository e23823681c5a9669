package learning

import (
	"errors"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// The teachers' desk (/learning/teach) and the technology teams' desk
// (/officer/learning): both read and change other people's records, so
// both need a level-2 session; a level-1 session is sent to log in again,
// a form posted from one is refused.

// desk returns the signed-in account of a desk page.
func (h *pages) desk(w http.ResponseWriter, r *http.Request, home string) (Account, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return Account{}, false
	}
	if err != nil || sess.AccountID == "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = home
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return Account{}, false
	}
	if sess.ActingFor != "" {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "learningpages.error.acting_for"))
		return Account{}, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return Account{}, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "learningpages.error.level2_session"))
		return Account{}, false
	}
	a, err := h.s.o.Accounts.Account(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return Account{}, false
	}
	return a, true
}

func (h *pages) mountTeach(ws *web.Server) {
	ws.HandleFunc("GET /learning/teach", h.teachHome)
	ws.HandleFunc("GET /learning/teach/classes/{id}", h.teachClass)
	ws.HandleFunc("GET /learning/teach/classes/{id}/students/{learner}", h.teachStudent)
	ws.HandleFunc("POST /learning/teach/classes/{id}/assign", h.teachAssign)
	ws.HandleFunc("POST /learning/teach/classes/{id}/reset", h.teachReset)
	ws.HandleFunc("POST /learning/teach/classes/{id}/extend", h.teachExtend)
	ws.HandleFunc("GET /learning/teach/schools/{code}", h.teachSchool)
}

type classLink struct {
	ID, Name, School, SchoolCode string
	Grade, Students              int
}

type teachHomeData struct {
	Style   string
	Classes []classLink
	Schools []classLink
}

func (h *pages) teachHome(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	classes, err := h.s.TeacherClasses(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := teachHomeData{Style: h.style}
	seen := map[string]bool{}
	for _, c := range classes {
		d.Classes = append(d.Classes, classLink{ID: c.ID, Name: c.Name, School: c.SchoolName, SchoolCode: c.SchoolCode, Grade: c.Grade, Students: c.Students})
		if !seen[c.SchoolCode] {
			seen[c.SchoolCode] = true
			d.Schools = append(d.Schools, classLink{School: c.SchoolName, SchoolCode: c.SchoolCode})
		}
	}
	h.pages.Render(w, r, http.StatusOK, "learning_teach", d)
}

// cellView is a student's standing in one course, as the desk shows it.
type cellView struct {
	Course     string
	Title      string
	Status     string // passed, overdue, started, not_started
	StatusText string
	Detail     string // lessons read, attempts, best score, in words
	Deadline   dateView
	Extended   bool
	CanReset   bool
}

type assignmentView struct {
	Code, Title string
	Deadline    dateView
}

type teachClassData struct {
	Style       string
	Notice      string
	Error       string
	Class       classLink
	Assignments []assignmentView
	Rows        template.HTML // the students, written by studentRows
	Courses     []courseCard
	Tomorrow    string // the earliest deadline the forms offer, YYYY-MM-DD
}

// cellOf describes a cell in the reader's language.
func (h *pages) cellOf(r *http.Request, cell Cell, title string) cellView {
	cv := cellView{Course: cell.Course, Title: title, Deadline: dayOf(cell.Deadline), Extended: cell.Extended,
		CanReset: cell.FinalUsed > 0 && !cell.Passed}
	switch {
	case cell.Passed:
		cv.Status = "passed"
	case cell.Overdue:
		cv.Status = "overdue"
	case cell.Enrolled:
		cv.Status = "started"
	default:
		cv.Status = "not_started"
	}
	cv.StatusText = h.web.T(r, "learningpages.cell."+cv.Status)
	cv.Detail = h.web.T(r, "learningpages.course.read_of", cell.LessonsRead, cell.Lessons) + " · " +
		h.web.T(r, "learningpages.teach.attempts", cell.FinalUsed, cell.Attempts)
	if cell.Best >= 0 {
		cv.Detail += " · " + h.web.T(r, "learningpages.course.best", percent(cell.Best))
	}
	return cv
}

// studentRows writes a class's students, escaped here: forty students of
// three courses through html/template cost the page most of its time in
// the escapers' reflective calls. Every value goes through
// html.EscapeString; classes and statuses are our own tokens.
func (h *pages) studentRows(r *http.Request, rep ClassReport, lang string) template.HTML {
	e := html.EscapeString
	deadline, manage, extended := h.web.T(r, "learningpages.course.deadline"), h.web.T(r, "learningpages.teach.manage"), h.web.T(r, "learningpages.teach.extended")
	dayText := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return web.FormatDate(h.web.Catalog(), lang, t)
	}
	titles := make([]string, len(rep.Assignments))
	for k, a := range rep.Assignments {
		titles[k] = a.Course.Title(lang)
	}
	var b strings.Builder
	b.Grow(len(rep.Rows) * 900)
	for _, row := range rep.Rows {
		id := e(row.Student.CitizenID)
		b.WriteString(`<li class="card student" id="student-` + id + `">` + "\n<h3>" + e(row.Student.Name) + "</h3>\n")
		for k, cell := range row.Cells {
			cv := h.cellOf(r, cell, titles[k])
			b.WriteString(`<div class="cell cell-` + cv.Status + `"><p><strong>` + e(cv.Title) + `</strong>: <span class="status status-` + cv.Status + `">` +
				e(cv.StatusText) + "</span></p>\n")
			b.WriteString(`<p class="hint">` + e(cv.Detail) + ` · ` + e(deadline) + ` <time datetime="` + e(cv.Deadline.ISO) + `"><bdi>` + e(dayText(cell.Deadline)) + `</bdi></time>`)
			if cv.Extended {
				b.WriteString(" (" + e(extended) + ")")
			}
			b.WriteString("</p></div>\n")
		}
		b.WriteString(`<p><a class="manage" href="/learning/teach/classes/` + url.PathEscape(rep.Class.ID) + `/students/` + url.PathEscape(row.Student.CitizenID) + `">` +
			e(manage) + "</a></p>\n</li>\n")
	}
	return template.HTML(b.String())
}

func (h *pages) teachClass(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	h.renderClass(w, r, http.StatusOK, "")
}

func (h *pages) renderClass(w http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx := r.Context()
	// The students' reads are written to the data-use log while the page
	// is built, and the page is sent only once they are.
	rep, logged, err := h.s.classProgressLogging(ctx, r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lang := web.LangFrom(ctx)
	c := rep.Class
	d := teachClassData{Style: h.style, Notice: notice(r), Error: errText,
		Class:    classLink{ID: c.ID, Name: c.Name, School: c.SchoolName, SchoolCode: c.SchoolCode, Grade: c.Grade, Students: len(rep.Rows)},
		Tomorrow: h.s.now().In(kernel.Zone()).AddDate(0, 0, 1).Format(time.DateOnly)}
	for _, a := range rep.Assignments {
		d.Assignments = append(d.Assignments, assignmentView{Code: a.Course.Code, Title: a.Course.Title(lang), Deadline: dayOf(a.Deadline)})
	}
	d.Rows = h.studentRows(r, rep, lang)
	for _, co := range rep.Courses {
		d.Courses = append(d.Courses, h.card(r, co))
	}
	if err := logged(); err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, status, "learning_teach_class", d)
}

type attemptRow struct {
	ID      string
	Started dateView
	Score   int
	Open    bool
	Passed  bool
	Counted bool
}

type teachStudentData struct {
	Style    string
	Notice   string
	Error    string
	Class    classLink
	Name     string
	Learner  string
	Cells    []cellView
	Attempts map[string][]attemptRow
	Tomorrow string
}

func (h *pages) teachStudent(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	h.renderStudent(w, r, http.StatusOK, "")
}

func (h *pages) renderStudent(w http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx := r.Context()
	learner := r.PathValue("learner")
	if learner == "" {
		learner = r.PostFormValue("learner")
	}
	rep, err := h.s.StudentProgress(ctx, r.PathValue("id"), learner)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lang := web.LangFrom(ctx)
	c := rep.Class
	d := teachStudentData{Style: h.style, Notice: notice(r), Error: errText, Name: rep.Student.Name, Learner: rep.Student.CitizenID,
		Class:    classLink{ID: c.ID, Name: c.Name, School: c.SchoolName, SchoolCode: c.SchoolCode},
		Attempts: map[string][]attemptRow{}, Tomorrow: h.s.now().In(kernel.Zone()).AddDate(0, 0, 1).Format(time.DateOnly)}
	for k, cell := range rep.Cells {
		d.Cells = append(d.Cells, h.cellOf(r, cell, rep.Assignments[k].Course.Title(lang)))
	}
	for course, as := range rep.Attempts {
		for _, a := range as {
			d.Attempts[course] = append(d.Attempts[course], attemptRow{ID: a.ID, Started: dateOf(a.StartedAt), Score: percent(a.Score),
				Open: a.SubmittedAt.IsZero(), Passed: a.Passed, Counted: a.Counted})
		}
	}
	h.pages.Render(w, r, status, "learning_teach_student", d)
}

// deadlineOf reads a form's date (YYYY-MM-DD) as the end of that day in
// the province.
func deadlineOf(s string) (time.Time, error) {
	day, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), kernel.Zone())
	if err != nil {
		return time.Time{}, kernel.E(kernel.Invalid, "learningpages.error.bad_date")
	}
	return day.Add(24*time.Hour - time.Second), nil
}

func (h *pages) classDone(w http.ResponseWriter, r *http.Request, err error, done string) {
	learner := r.PostFormValue("learner")
	if err != nil {
		if msg, status, ok := h.refusal(w, r, err); ok {
			if learner != "" {
				h.renderStudent(w, r, status, msg)
			} else {
				h.renderClass(w, r, status, msg)
			}
		}
		return
	}
	to := "/learning/teach/classes/" + url.PathEscape(r.PathValue("id"))
	if learner != "" {
		to += "/students/" + url.PathEscape(learner)
	}
	http.Redirect(w, r, to+"?done="+done, http.StatusSeeOther)
}

func (h *pages) teachAssign(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	deadline, err := deadlineOf(r.PostFormValue("deadline"))
	if err == nil {
		err = h.s.Assign(r.Context(), r.PathValue("id"), r.PostFormValue("course"), deadline)
	}
	h.classDone(w, r, err, "assigned")
}

func (h *pages) teachReset(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	err := h.s.ResetAttempts(r.Context(), r.PathValue("id"), r.PostFormValue("learner"), r.PostFormValue("course"))
	h.classDone(w, r, err, "reset")
}

func (h *pages) teachExtend(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	deadline, err := deadlineOf(r.PostFormValue("deadline"))
	if err == nil {
		err = h.s.ExtendDeadline(r.Context(), r.PathValue("id"), r.PostFormValue("learner"), r.PostFormValue("course"), deadline)
	}
	h.classDone(w, r, err, "extended")
}

type schoolSection struct {
	Code, Title string
	Total       string        // the school's figure, in words
	Rows        template.HTML // one row per class, written by schoolRows
}

type teachSchoolData struct {
	Style   string
	School  string
	Roll    int
	Courses []schoolSection
}

// schoolRows writes a course's table rows, one per class, escaped here
// (fifty classes of three courses through html/template cost most of the
// page's time).
func schoolRows(rep SchoolReport, course string, day func(time.Time) string) template.HTML {
	e := html.EscapeString
	var b strings.Builder
	b.Grow(len(rep.Classes) * 160)
	for _, cl := range rep.Classes {
		f := rep.Figures[cl.ID][course]
		pct := 0
		if cl.Students > 0 {
			pct = f.Completed * 100 / cl.Students
		}
		b.WriteString(`<tr><th scope="row">` + e(cl.Name) + `</th><td>` + strconv.Itoa(f.Completed) + "/" + strconv.Itoa(cl.Students) +
			" (" + strconv.Itoa(pct) + "%)</td><td>" + strconv.Itoa(f.Enrolled))
		if dl, ok := rep.Assigned[cl.ID][course]; ok {
			d := dayOf(dl)
			b.WriteString(` · <time datetime="` + e(d.ISO) + `"><bdi>` + e(day(dl)) + `</bdi></time>`)
		}
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

func (h *pages) teachSchool(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	rep, err := h.s.SchoolProgress(r.Context(), r.PathValue("code"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lang := web.LangFrom(r.Context())
	d := teachSchoolData{Style: h.style, School: rep.School.Name, Roll: rep.Roll}
	for _, c := range rep.Courses {
		t := rep.Totals[c.Code]
		pct := 0
		if rep.Roll > 0 {
			pct = t.Completed * 100 / rep.Roll
		}
		d.Courses = append(d.Courses, schoolSection{Code: c.Code, Title: c.Title(lang),
			Total: h.web.T(r, "learningpages.school.total", t.Completed, rep.Roll, pct, t.Enrolled), Rows: schoolRows(rep, c.Code, func(t time.Time) string { return web.FormatDate(h.web.Catalog(), web.LangFrom(r.Context()), t) })})
	}
	h.pages.Render(w, r, http.StatusOK, "learning_teach_school", d)
}

func (h *pages) mountOfficer(ws *web.Server) {
	ws.HandleFunc("GET /officer/learning", h.officerHome)
	ws.HandleFunc("POST /officer/learning/sessions", h.officerSchedule)
	ws.HandleFunc("GET /officer/learning/sessions/{id}", h.officerSession)
	ws.HandleFunc("POST /officer/learning/sessions/{id}/register", h.officerRegister)
	ws.HandleFunc("POST /officer/learning/sessions/{id}/attendance", h.officerAttendance)
	ws.HandleFunc("POST /officer/learning/trained", h.officerTrained)
	ws.HandleFunc("POST /officer/learning/import", h.officerImport)
	ws.AllowUpload("/officer/learning/import", MaxGIFTBytes+64<<10)
}

// officer returns the desk's account and its posts (trainer or author),
// with the request's context carrying the official acting for the agency
// named in the form (or the first post).
func (h *pages) officer(w http.ResponseWriter, r *http.Request) (Post, []Post, *http.Request, bool) {
	a, ok := h.desk(w, r, "/officer/learning")
	if !ok {
		return Post{}, nil, nil, false
	}
	if h.s.o.Officials == nil {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "learning.error.not_trainer"))
		return Post{}, nil, nil, false
	}
	posts, err := h.s.o.Officials.Posts(r.Context(), a.ID)
	if err != nil {
		h.web.Error(w, r, err)
		return Post{}, nil, nil, false
	}
	var mine []Post
	for _, p := range posts {
		if p.Trainer || p.Author {
			mine = append(mine, p)
		}
	}
	agency := r.URL.Query().Get("agency")
	if r.Method == http.MethodPost {
		agency = r.PostFormValue("agency")
	}
	for _, p := range mine {
		if agency == "" || p.AgencyCode == agency {
			ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: a.ID, OnBehalfOf: "agency:" + p.AgencyCode})
			return p, mine, r.WithContext(ctx), true
		}
	}
	h.web.Error(w, r, kernel.E(kernel.Forbidden, "learning.error.not_trainer"))
	return Post{}, nil, nil, false
}

type officerData struct {
	Style    string
	Notice   string
	Error    string
	Post     Post
	Posts    []Post
	Sessions []sessionView
	Courses  []courseCard
	Today    string
	Warnings []string
}

func (h *pages) officerHome(w http.ResponseWriter, r *http.Request) {
	p, posts, r2, ok := h.officer(w, r)
	if !ok {
		return
	}
	h.renderOfficer(w, r2, p, posts, http.StatusOK, "", nil)
}

func (h *pages) renderOfficer(w http.ResponseWriter, r *http.Request, p Post, posts []Post, status int, errText string, warnings []string) {
	ctx := r.Context()
	d := officerData{Style: h.style, Notice: notice(r), Error: errText, Post: p, Posts: posts, Warnings: warnings,
		Today: h.s.now().In(kernel.Zone()).Format(time.DateOnly)}
	if p.Trainer {
		list, err := h.s.Sessions(ctx, p.UnitCode, kernel.Page{Limit: 100})
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		for _, s := range list {
			if s.Agency == p.AgencyCode {
				d.Sessions = append(d.Sessions, h.sessionView(r, s))
			}
		}
	}
	courses, err := h.s.Courses(ctx)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	for _, c := range courses {
		d.Courses = append(d.Courses, h.card(r, c))
	}
	h.pages.Render(w, r, status, "learning_officer", d)
}

func (h *pages) officerSchedule(w http.ResponseWriter, r *http.Request) {
	p, posts, r2, ok := h.officer(w, r)
	if !ok {
		return
	}
	in := SessionInput{Topic: r.PostFormValue("topic"), Title: r.PostFormValue("title"), Place: r.PostFormValue("place")}
	day, err := time.ParseInLocation(time.DateOnly, r.PostFormValue("day"), kernel.Zone())
	var from, to time.Time
	if err == nil {
		from, err = clockOn(day, r.PostFormValue("from"))
	}
	if err == nil {
		to, err = clockOn(day, r.PostFormValue("to"))
	}
	if err != nil {
		err = kernel.E(kernel.Invalid, "learningpages.error.bad_date")
	} else {
		in.StartsAt, in.EndsAt = from, to
		in.Capacity, _ = strconv.Atoi(r.PostFormValue("capacity"))
		_, err = h.s.ScheduleSession(r2.Context(), p.AgencyCode, in)
	}
	if err != nil {
		if msg, status, ok := h.refusal(w, r2, err); ok {
			h.renderOfficer(w, r2, p, posts, status, msg, nil)
		}
		return
	}
	http.Redirect(w, r, "/officer/learning?agency="+url.QueryEscape(p.AgencyCode)+"&done=scheduled", http.StatusSeeOther)
}

// clockOn is the time "HH:MM" on day, in the province.
func clockOn(day time.Time, hm string) (time.Time, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(hm))
	if err != nil {
		return time.Time{}, err
	}
	return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute), nil
}

type seatView struct {
	CitizenID, Name   string
	Booked            dateView
	Attended, Trained bool
}

type officerSessionData struct {
	Style   string
	Notice  string
	Error   string
	Post    Post
	Session sessionView
	Seats   []seatView
	Started bool
}

func (h *pages) officerSession(w http.ResponseWriter, r *http.Request) {
	p, _, r2, ok := h.officer(w, r)
	if !ok {
		return
	}
	h.renderSession(w, r2, p, http.StatusOK, "")
}

func (h *pages) renderSession(w http.ResponseWriter, r *http.Request, p Post, status int, errText string) {
	ses, seats, err := h.s.Roster(r.Context(), p.AgencyCode, r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := officerSessionData{Style: h.style, Notice: notice(r), Error: errText, Post: p, Session: h.sessionView(r, ses),
		Started: !h.s.now().Before(ses.StartsAt.Add(-time.Hour))}
	for _, st := range seats {
		d.Seats = append(d.Seats, seatView{CitizenID: st.Person.CitizenID, Name: st.Person.FullName, Booked: dateOf(st.BookedAt),
			Attended: st.Attended, Trained: st.Trained})
	}
	h.pages.Render(w, r, status, "learning_officer_session", d)
}

func (h *pages) sessionDone(w http.ResponseWriter, r *http.Request, p Post, err error, done string) {
	if err != nil {
		if msg, status, ok := h.refusal(w, r, err); ok {
			h.renderSession(w, r, p, status, msg)
		}
		return
	}
	http.Redirect(w, r, "/officer/learning/sessions/"+url.PathEscape(r.PathValue("id"))+"?agency="+url.QueryEscape(p.AgencyCode)+"&done="+done, http.StatusSeeOther)
}

func (h *pages) officerRegister(w http.ResponseWriter, r *http.Request) {
	p, _, r2, ok := h.officer(w, r)
	if !ok {
		return
	}
	err := h.s.RegisterPerson(r2.Context(), p.AgencyCode, r.PathValue("id"), strings.TrimSpace(r.PostFormValue("citizen_id")))
	h.sessionDone(w, r2, p, err, "added")
}

func (h *pages) officerAttendance(w http.ResponseWriter, r *http.Request) {
	p, _, r2, ok := h.officer(w, r)
	if !ok {
		return
	}
	id, person := r.PathValue("id"), r.PostFormValue("citizen_id")
	var err error
	switch r.PostFormValue("action") {
	case "attended":
		err = h.s.RecordAttendance(r2.Context(), p.AgencyCode, id, person, true)
	case "absent":
		err = h.s.RecordAttendance(r2.Context(), p.AgencyCode, id, person, false)
	case "trained":
		err = h.s.MarkTrained(r2.Context(), p.AgencyCode, person, "", id)
		if err == nil {
			h.sessionDone(w, r2, p, nil, "trained")
			return
		}
	default:
		err = kernel.E(kernel.Invalid, "error.invalid")
	}
	h.sessionDone(w, r2, p, err, "attended")
}

func (h *pages) officerTrained(w http.ResponseWriter, r *http.Request) {
	p, posts, r2, ok := h.officer(w, r)
	if !ok {
		return
	}
	err := h.s.MarkTrained(r2.Context(), p.AgencyCode, strings.TrimSpace(r.PostFormValue("citizen_id")), r.PostFormValue("topic"), "")
	if err != nil {
		if msg, status, ok := h.refusal(w, r2, err); ok {
			h.renderOfficer(w, r2, p, posts, status, msg, nil)
		} else if kernel.ErrorCode(err) == kernel.NotFound {
			h.renderOfficer(w, r2, p, posts, http.StatusNotFound, h.web.T(r, "learningpages.error.no_person"), nil)
		}
		return
	}
	http.Redirect(w, r, "/officer/learning?agency="+url.QueryEscape(p.AgencyCode)+"&done=trained", http.StatusSeeOther)
}

// officerImport takes a GIFT file into a course's bank: the provincial
// education department's authors only. A malformed file is refused with
// its line; nothing of it runs.
func (h *pages) officerImport(w http.ResponseWriter, r *http.Request) {
	// The multipart body is read before the desk's checks, which read the
	// form; it is bounded by AllowUpload.
	if err := r.ParseMultipartForm(MaxGIFTBytes + 32<<10); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.web.Error(w, r, kernel.E(kernel.Invalid, "learning.gift.too_large", MaxGIFTBytes>>10))
			return
		}
		h.web.Error(w, r, kernel.E(kernel.Invalid, "error.invalid"))
		return
	}
	p, posts, r2, ok := h.officer(w, r)
	if !ok {
		return
	}
	if !p.Author {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "learningpages.error.not_author"))
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		h.renderOfficer(w, r2, p, posts, http.StatusBadRequest, h.web.T(r, "learningpages.error.no_file"), nil)
		return
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxGIFTBytes+1))
	if err != nil {
		h.web.Error(w, r, kernel.Wrap(err, "learning: read upload"))
		return
	}
	im, err := h.s.ImportGIFT(r2.Context(), r.PostFormValue("course"), strings.TrimSpace(r.PostFormValue("bank")), src)
	if err != nil {
		if msg, status, ok := h.refusal(w, r2, err); ok {
			h.renderOfficer(w, r2, p, posts, status, msg, nil)
		} else if kernel.ErrorCode(err) == kernel.NotFound {
			h.renderOfficer(w, r2, p, posts, http.StatusNotFound, h.web.T(r, "learning.error.no_course"), nil)
		}
		return
	}
	var warnings []string
	for _, wn := range im.Warnings {
		warnings = append(warnings, h.web.T(r, wn.Key, wn.Args...))
	}
	if len(warnings) > 0 {
		h.renderOfficer(w, r2, p, posts, http.StatusOK, "", warnings)
		return
	}
	http.Redirect(w, r, "/officer/learning?agency="+url.QueryEscape(p.AgencyCode)+"&done=imported", http.StatusSeeOther)
}
