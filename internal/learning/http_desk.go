package learning

import (
	"errors"
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

type cellView struct {
	Course      string
	Title       string
	Status      string // passed, overdue, started, not_started
	StatusText  string
	Read        int
	Lessons     int
	Best        int
	HasBest     bool
	Used, Of    int
	Deadline    dateView
	Extended    bool
	CanReset    bool
	Learner     string
	MinDeadline string
}

type rowView struct {
	CitizenID string
	Name      string
	Cells     []cellView
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
	Rows        []rowView
	Courses     []courseCard
	Tomorrow    string // the earliest deadline the forms offer, YYYY-MM-DD
}

func (h *pages) teachClass(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.desk(w, r, "/learning/teach"); !ok {
		return
	}
	h.renderClass(w, r, http.StatusOK, "")
}

func (h *pages) renderClass(w http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx := r.Context()
	rep, err := h.s.ClassProgress(ctx, r.PathValue("id"))
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
	for _, row := range rep.Rows {
		rv := rowView{CitizenID: row.Student.CitizenID, Name: row.Student.Name}
		for k, cell := range row.Cells {
			cv := cellView{Course: cell.Course, Title: rep.Assignments[k].Course.Title(lang), Read: cell.LessonsRead, Lessons: cell.Lessons,
				Best: percent(cell.Best), HasBest: cell.Best >= 0, Used: cell.FinalUsed, Of: cell.Attempts, Deadline: dayOf(cell.Deadline),
				Extended: cell.Extended, CanReset: cell.FinalUsed > 0 && !cell.Passed, Learner: row.Student.CitizenID}
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
			rv.Cells = append(rv.Cells, cv)
		}
		d.Rows = append(d.Rows, rv)
	}
	courses, err := h.s.Courses(ctx)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	for _, co := range courses {
		d.Courses = append(d.Courses, h.card(r, co))
	}
	h.pages.Render(w, r, status, "learning_teach_class", d)
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
	if err != nil {
		if msg, status, ok := h.refusal(w, r, err); ok {
			h.renderClass(w, r, status, msg)
		}
		return
	}
	http.Redirect(w, r, "/learning/teach/classes/"+url.PathEscape(r.PathValue("id"))+"?done="+done, http.StatusSeeOther)
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

type schoolCell struct {
	Enrolled, Completed, Roll int
	Percent                   int
	Assigned                  bool
	Deadline                  dateView
}

type schoolRow struct {
	Class classLink
	Cells []schoolCell
}

type teachSchoolData struct {
	Style   string
	School  string
	Courses []courseCard
	Rows    []schoolRow
	Totals  []schoolCell
	Roll    int
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
	d := teachSchoolData{Style: h.style, School: rep.School.Name, Roll: rep.Roll}
	for _, c := range rep.Courses {
		d.Courses = append(d.Courses, h.card(r, c))
		t := rep.Totals[c.Code]
		cell := schoolCell{Enrolled: t.Enrolled, Completed: t.Completed, Roll: rep.Roll}
		if rep.Roll > 0 {
			cell.Percent = t.Completed * 100 / rep.Roll
		}
		d.Totals = append(d.Totals, cell)
	}
	for _, cl := range rep.Classes {
		row := schoolRow{Class: classLink{ID: cl.ID, Name: cl.Name, Grade: cl.Grade, Students: cl.Students}}
		for _, c := range rep.Courses {
			f := rep.Figures[cl.ID][c.Code]
			cell := schoolCell{Enrolled: f.Enrolled, Completed: f.Completed, Roll: cl.Students}
			if cl.Students > 0 {
				cell.Percent = f.Completed * 100 / cl.Students
			}
			if dl, ok := rep.Assigned[cl.ID][c.Code]; ok {
				cell.Assigned, cell.Deadline = true, dayOf(dl)
			}
			row.Cells = append(row.Cells, cell)
		}
		d.Rows = append(d.Rows, row)
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
