package learning

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/tally"
)

func TestShippedCoursesLoad(t *testing.T) {
	e := newEnv(t)
	cs, err := e.s.Courses(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"eid-wallet-signature": true, "online-safety": true, "traffic-safety": true}
	if len(cs) != len(want) {
		t.Fatalf("courses %d, want %d", len(cs), len(want))
	}
	for _, c := range cs {
		if !want[c.Code] || c.Lessons < 5 || c.Questions < 30 || c.Source != SourceBuiltin {
			t.Errorf("course %s: %d lessons, %d questions, source %s", c.Code, c.Lessons, c.Questions, c.Source)
		}
		for _, l := range []string{"vi", "en", "ar"} {
			if c.Titles[l] == "" {
				t.Errorf("course %s has no %s title", c.Code, l)
			}
		}
		_, lessons, err := e.s.Course(e.ctx, c.Code)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lessons {
			if l.Titles["ar"] == "" || len(l.Langs) < 2 || l.Langs[0].Code != "vi" || l.Langs[1].Code != "en" {
				t.Errorf("lesson %s/%s: titles %v, languages %v", c.Code, l.Slug, l.Titles, l.Langs)
			}
		}
	}
	// Loading again changes nothing.
	folders, _ := BuiltinCourses()
	for _, f := range folders {
		im, err := e.s.ImportCourse(e.ctx, f, SourceBuiltin)
		if err != nil || !im.Unchanged {
			t.Errorf("second load: %+v, %v", im, err)
		}
	}
}

func TestImportGIFTFromMoodle(t *testing.T) {
	e := newEnv(t)
	src, err := os.ReadFile("testdata/moodle/examples.gift.txt")
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := e.s.Course(e.ctx, "online-safety")
	im, err := e.s.ImportGIFT(e.ctx, "online-safety", "moodle-examples", src)
	if err != nil {
		t.Fatal(err)
	}
	// The file repeats some questions word for word: they are one question.
	g, err := ParseGIFT(src, "moodle-examples")
	if err != nil || len(g.Questions) != 43 {
		t.Fatalf("%d questions, %v", len(g.Questions), err)
	}
	distinct := map[string]bool{}
	for _, q := range g.Questions {
		q.identify("online-safety")
		distinct[q.ID] = true
	}
	after, _, _ := e.s.Course(e.ctx, "online-safety")
	if after.Questions != before.Questions+len(distinct) || im.Questions != after.Questions || after.Source != SourceImport {
		t.Fatalf("after import: %d questions (was %d), source %s", after.Questions, before.Questions, after.Source)
	}
	// The same bank again: the same questions, the same IDs.
	if _, err := e.s.ImportGIFT(e.ctx, "online-safety", "moodle-examples", src); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := e.s.Course(e.ctx, "online-safety"); again.Questions != after.Questions {
		t.Fatalf("second import: %d questions", again.Questions)
	}
	// The operator's course is not replaced by the shipped one at the next start.
	folders, _ := BuiltinCourses()
	for _, f := range folders {
		im, err := e.s.ImportCourse(e.ctx, f, SourceBuiltin)
		if err != nil {
			t.Fatal(err)
		}
		if im.Code == "online-safety" && !im.Kept {
			t.Fatalf("the shipped course replaced the operator's: %+v", im)
		}
	}
	for _, tt := range []struct {
		name, bank, src, key string
	}{
		{"fail/malformed", "x", "::A:: one {=a ~b\n\n::B:: two {=c ~d}", "learning.gift.no_closing_brace"},
		{"fail/final is reserved", "final", "Q {=a ~b}", "learning.error.bad_bank"},
		{"fail/bad bank name", "../x", "Q {=a ~b}", "learning.error.bad_bank"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.ImportGIFT(e.ctx, "online-safety", tt.bank, []byte(tt.src))
			if k, _ := kernel.ErrorKey(err); k != tt.key {
				t.Fatalf("got %v, want %s", err, tt.key)
			}
		})
	}
}

func TestFinalTestFlow(t *testing.T) {
	e := newEnv(t)
	learner := e.persons[0].CitizenID
	ctx := e.as(learner)
	const course = "traffic-safety"
	if _, err := e.s.StartAttempt(ctx, learner, course, FinalQuiz); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("final before reading: %v", err)
	}
	e.readAll(ctx, learner, course)
	// A lesson's quiz is practice: its answers are shown after submission.
	qid, err := e.s.StartAttempt(ctx, learner, course, "01-walking")
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := e.s.SubmitAttempt(ctx, qid, rightAnswers(t, e.attempt(qid))); err != nil || sub.Score != 1000 || !sub.Passed {
		t.Fatalf("lesson quiz with right answers: %+v, %v", sub, err)
	}
	v, err := e.s.ViewAttempt(ctx, qid)
	if err != nil || len(v.Items) != 5 || len(v.Items[0].Right) == 0 {
		t.Fatalf("lesson quiz review: %d items, %v", len(v.Items), err)
	}
	// Three attempts at the final test, each counted when started.
	for i := range 3 {
		id, err := e.s.StartAttempt(ctx, learner, course, FinalQuiz)
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if again, err := e.s.StartAttempt(ctx, learner, course, FinalQuiz); err != nil || again != id {
			t.Fatalf("starting again while one is open gave %s, %v", again, err)
		}
		view, err := e.s.ViewAttempt(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range view.Items {
			if it.Scored || len(it.Feedback) > 0 || len(it.Right) > 0 {
				t.Fatalf("an open attempt shows a result: %+v", it)
			}
			for _, o := range it.Options {
				if o.Right || o.Chosen {
					t.Fatalf("an open attempt marks a choice: %+v", o)
				}
			}
		}
		sub, err := e.s.SubmitAttempt(ctx, id, Answers{})
		if err != nil || sub.Passed || sub.Score != 0 {
			t.Fatalf("empty answers: %+v, %v", sub, err)
		}
		if _, err := e.s.SubmitAttempt(ctx, id, Answers{}); kernel.ErrorCode(err) != kernel.Conflict {
			t.Fatalf("second submission: %v", err)
		}
		if i < 2 {
			if v, _ := e.s.ViewAttempt(ctx, id); len(v.Items[0].Right) != 0 {
				t.Fatal("a failed final test shows the right answers while attempts remain")
			}
		}
	}
	if _, err := e.s.StartAttempt(ctx, learner, course, FinalQuiz); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a fourth attempt: %v", err)
	}
	// An enrolment whose attempts a teacher reset gets three more.
	if err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(e.ctx, `UPDATE learning_enrolments SET final_used = 0 WHERE learner = ? AND course = ?`, learner, course)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	id, err := e.s.StartAttempt(ctx, learner, course, FinalQuiz)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.s.SubmitAttempt(ctx, id, rightAnswers(t, e.attempt(id)))
	if err != nil || !sub.Passed || !sub.Completed || sub.Score != 1000 || sub.Certificate == "" {
		t.Fatalf("right answers: %+v, %v", sub, err)
	}
	if len(e.certs.issued) != 1 {
		t.Fatalf("%d certificates issued", len(e.certs.issued))
	}
	c := e.certs.issued[0]
	if c.citizen != learner || c.agency != "T99.UBND" || c.claims["course_code"] != course || c.claims["score_band"] != "90–100%" ||
		c.claims["full_name"] != e.persons[0].FullName || c.claims["completed_on"] != "2026-03-02" || c.claims["level"] != 1 {
		t.Fatalf("certificate %+v", c)
	}
	p, err := e.s.Progress(ctx, learner, course)
	if err != nil || !p.Enrolment.Passed() || p.Enrolment.CertState != CertIssued || p.Enrolment.Certificate != sub.Certificate {
		t.Fatalf("progress after passing: %+v, %v", p.Enrolment, err)
	}
	if _, err := e.s.StartAttempt(ctx, learner, course, FinalQuiz); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("a final test after passing: %v", err)
	}
	m, err := e.s.Mastery(ctx, learner)
	if err != nil || len(m) == 0 {
		t.Fatalf("mastery: %v, %v", m, err)
	}
	for _, row := range m {
		if row.Level < MasteryProficient {
			t.Errorf("mastery of %s after a perfect final test: %s", row.Competence, MasteryName(row.Level))
		}
	}
}

func TestAttemptsAreTheLearners(t *testing.T) {
	e := newEnv(t)
	learner, stranger := e.persons[0].CitizenID, e.persons[1].CitizenID
	child, guardian := e.children[0].CitizenID, e.persons[2].CitizenID
	teacher := e.persons[3].CitizenID
	e.accounts.deps["acct-"+guardian] = []Dependent{{CitizenID: child, Name: e.children[0].FullName}}
	e.as(guardian)
	e.schools.addClass(School{Code: "S1", Name: "Trường THCS Sông Xanh"}, "C1", teacher, []registry.Person{e.children[0]})

	id, err := e.s.StartAttempt(e.as(learner), learner, "online-safety", "01-scam-calls")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ctx  context.Context
		code kernel.Code
	}{
		{"ok/the learner", e.as(learner), ""},
		{"fail/a stranger", e.as(stranger), kernel.NotFound},
		{"fail/anonymous", context.Background(), kernel.NotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.s.ViewAttempt(tt.ctx, id); kernel.ErrorCode(err) != tt.code {
				t.Fatalf("view: %v", err)
			}
		})
	}
	if _, err := e.s.SubmitAttempt(e.as(stranger), id, Answers{}); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a stranger submits: %v", err)
	}
	if _, err := e.s.StartAttempt(e.as(stranger), learner, "online-safety", "01-scam-calls"); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a stranger starts for the learner: %v", err)
	}

	// A guardian acts for their child; the child's teacher reads it, logged.
	gctx := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: "acct-" + guardian, OnBehalfOf: "person:" + child})
	cid, err := e.s.StartAttempt(gctx, child, "online-safety", "01-scam-calls")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SubmitAttempt(gctx, cid, Answers{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ViewAttempt(e.as(guardian), cid); err != nil {
		t.Fatalf("the guardian: %v", err)
	}
	if e.uses.count(child) != 0 {
		t.Fatal("a guardian's read was logged as someone else's")
	}
	v, err := e.s.ViewAttempt(e.as(teacher), cid)
	if err != nil || len(v.Items[0].Right) == 0 {
		t.Fatalf("the teacher: %v", err)
	}
	if e.uses.count(child) != 1 {
		t.Fatalf("the teacher's read logged %d times", e.uses.count(child))
	}
	if _, err := e.s.ViewAttempt(e.as(teacher), id); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a teacher reads a learner not in their class: %v", err)
	}
}

func TestFinalAttemptsUnderRace(t *testing.T) {
	e := newEnv(t)
	learner := e.persons[0].CitizenID
	ctx := e.as(learner)
	e.readAll(ctx, learner, "online-safety")
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := map[string]bool{}
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				id, err := e.s.StartAttempt(ctx, learner, "online-safety", FinalQuiz)
				if err != nil {
					return
				}
				mu.Lock()
				started[id] = true
				mu.Unlock()
				_, _ = e.s.SubmitAttempt(ctx, id, Answers{})
			}
		}()
	}
	wg.Wait()
	var counted int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM learning_attempts WHERE learner = ? AND quiz = ?`, learner, FinalQuiz).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != 3 || len(started) != 3 {
		t.Fatalf("%d attempts made (%d seen), the course gives 3", counted, len(started))
	}
}

func TestTeachersAndDeadlines(t *testing.T) {
	e := newEnv(t)
	teacher, other := e.persons[0].CitizenID, e.persons[1].CitizenID
	school := School{Code: "S1", Name: "Trường THPT Sông Xanh", Agency: "T99.UBND"}
	class := e.schools.addClass(school, "10A1", teacher, e.teens)
	e.schools.addClass(school, "10A2", other, nil)
	tctx := e.as(teacher)
	student := e.teens[0].CitizenID
	sctx := e.as(student)
	const course = "traffic-safety"
	if err := e.s.Assign(tctx, class.ID, course, e.clock.Now().Add(7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Assign(e.as(other), class.ID, course, e.clock.Now().Add(7*24*time.Hour)); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another class's teacher assigns: %v", err)
	}
	lc, err := e.s.LearnerCourses(sctx, student)
	if err != nil || len(lc) != 1 || !lc[0].Assigned || lc[0].Deadline.IsZero() {
		t.Fatalf("the student's courses: %+v, %v", lc, err)
	}
	e.readAll(sctx, student, course)
	// Past the deadline the final test is closed, until the teacher extends it.
	e.clock.Advance(8 * 24 * time.Hour)
	if _, err := e.s.StartAttempt(sctx, student, course, FinalQuiz); keyOf(err) != "learning.error.deadline_passed" {
		t.Fatalf("after the deadline: %v", err)
	}
	if err := e.s.ExtendDeadline(tctx, class.ID, student, course, e.clock.Now().Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.ExtendDeadline(tctx, class.ID, e.persons[5].CitizenID, course, e.clock.Now().Add(48*time.Hour)); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("extending for someone not in the class: %v", err)
	}
	for range 3 {
		id, err := e.s.StartAttempt(sctx, student, course, FinalQuiz)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.SubmitAttempt(sctx, id, Answers{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.StartAttempt(sctx, student, course, FinalQuiz); keyOf(err) != "learning.error.no_attempts_left" {
		t.Fatalf("a fourth attempt: %v", err)
	}
	if err := e.s.ResetAttempts(e.as(other), class.ID, student, course); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another teacher resets: %v", err)
	}
	if err := e.s.ResetAttempts(tctx, class.ID, student, course); err != nil {
		t.Fatal(err)
	}
	id, err := e.s.StartAttempt(sctx, student, course, FinalQuiz)
	if err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	if _, err := e.s.SubmitAttempt(sctx, id, rightAnswers(t, e.attempt(id))); err != nil {
		t.Fatal(err)
	}
	// The school's agency issues its students' certificates.
	if n := len(e.certs.issued); n != 1 || e.certs.issued[0].agency != "T99.UBND" {
		t.Fatalf("certificates %+v", e.certs.issued)
	}

	before := len(e.uses.uses)
	rep, err := e.s.ClassProgress(tctx, class.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != len(e.teens) || len(rep.Assignments) != 1 {
		t.Fatalf("class report: %d rows, %d assignments", len(rep.Rows), len(rep.Assignments))
	}
	for _, r := range rep.Rows {
		cell := r.Cells[0]
		if r.Student.CitizenID == student {
			if !cell.Passed || !cell.Extended || cell.LessonsRead != 5 || cell.Best != 1000 {
				t.Fatalf("the student's cell: %+v", cell)
			}
		} else if cell.Enrolled || !cell.Overdue {
			t.Fatalf("a student who did nothing: %+v", cell)
		}
	}
	if got := len(e.uses.uses) - before; got != len(e.teens) {
		t.Fatalf("the class page logged %d reads for %d students", got, len(e.teens))
	}
	if _, err := e.s.ClassProgress(e.as(other), class.ID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another teacher's class: %v", err)
	}
	sr, err := e.s.SchoolProgress(tctx, school.Code)
	if err != nil {
		t.Fatal(err)
	}
	if f := sr.Figures[class.ID][course]; f.Enrolled != 1 || f.Completed != 1 || sr.Roll != len(e.teens) {
		t.Fatalf("school figures %+v, roll %d", sr.Figures, sr.Roll)
	}
	if _, err := e.s.SchoolProgress(e.as(e.persons[4].CitizenID), school.Code); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("someone who teaches there not: %v", err)
	}
}

func TestCommunityClassesAndFigures(t *testing.T) {
	e := newEnv(t)
	officer, commune := e.persons[0], e.persons[0].UnitCode
	agency := "X" + commune + ".UBND"
	octx := e.as(officer.CitizenID)
	e.officers.posts["acct-"+officer.CitizenID] = []Post{{AgencyCode: agency, AgencyName: "UBND", UnitCode: commune, Trainer: true}}
	start := e.clock.Now().Add(24 * time.Hour)
	in := SessionInput{Title: "Dùng điện thoại an toàn", Place: "Nhà văn hóa thôn 2", StartsAt: start, EndsAt: start.Add(2 * time.Hour), Capacity: 2}
	if _, err := e.s.ScheduleSession(e.as(e.persons[1].CitizenID), agency, in); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("someone without a post schedules: %v", err)
	}
	ses, err := e.s.ScheduleSession(octx, agency, in)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := e.persons[1].CitizenID, e.persons[2].CitizenID, e.persons[3].CitizenID
	if err := e.s.Book(e.as(a), a, ses.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Book(e.as(a), a, ses.ID); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("booking twice: %v", err)
	}
	if err := e.s.RegisterPerson(octx, agency, ses.ID, b); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Book(e.as(c), c, ses.ID); keyOf(err) != "learning.error.session_full" {
		t.Fatalf("booking a full session: %v", err)
	}
	if err := e.s.RecordAttendance(octx, agency, ses.ID, a, true); keyOf(err) != "learning.error.session_not_started" {
		t.Fatalf("attendance a day early: %v", err)
	}
	e.clock.Advance(24 * time.Hour)
	for _, p := range []string{a, b} {
		if err := e.s.RecordAttendance(octx, agency, ses.ID, p, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.RecordAttendance(octx, agency, ses.ID, c, true); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("attendance of someone not booked: %v", err)
	}
	if err := e.s.MarkTrained(octx, agency, a, "", ses.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.MarkTrained(octx, agency, a, "", ses.ID); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("trained twice: %v", err)
	}
	_, seats, err := e.s.Roster(octx, agency, ses.ID)
	if err != nil || len(seats) != 2 || !seats[0].Attended || !seats[0].Trained || seats[0].Person.FullName == "" {
		t.Fatalf("roster %+v, %v", seats, err)
	}
	if e.uses.count(a) != 1 {
		t.Fatalf("the roster read logged %d times for a", e.uses.count(a))
	}
	// Some learning too, then every figure added as it happened equals a recount.
	learner := e.persons[4].CitizenID
	e.readAll(e.as(learner), learner, "traffic-safety")
	id, err := e.s.StartAttempt(e.as(learner), learner, "traffic-safety", FinalQuiz)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SubmitAttempt(e.as(learner), id, rightAnswers(t, e.attempt(id))); err != nil {
		t.Fatal(err)
	}
	recount, err := e.s.RecountTallies(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ind := range e.s.Indicators() {
		names = append(names, ind.Name)
	}
	var rows []tally.Row
	if err := e.d.View(e.ctx, func(tx *db.Tx) error {
		var err error
		rows, err = tally.Rows(e.ctx, tx, names, "", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	stored := map[TallyKey]int64{}
	for _, r := range rows {
		if r.Value != 0 {
			stored[TallyKey{r.Name, r.Unit, r.Day}] = r.Value
		}
	}
	if len(stored) != len(recount) {
		t.Fatalf("stored %v\nrecount %v", stored, recount)
	}
	for k, v := range recount {
		if stored[k] != v {
			t.Errorf("%+v: stored %d, recounted %d", k, stored[k], v)
		}
	}
	for _, name := range names {
		found := false
		for k := range recount {
			found = found || k.Name == name
		}
		if !found {
			t.Errorf("no figure %s", name)
		}
	}
	if !strings.HasPrefix(ses.Unit, "3") {
		t.Fatalf("session unit %q", ses.Unit)
	}
}
