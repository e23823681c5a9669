package learning

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Purpose of a teacher's reads of their students' progress, as the
// data-use log names it.
const PurposeTeaching = "education.progress"

// actorCitizen is the citizen ID of the account acting in ctx.
func (s *Service) actorCitizen(ctx context.Context) (string, error) {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorCitizen && a.Kind != kernel.ActorOfficial {
		return "", kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	acct, err := s.o.Accounts.Account(ctx, a.ID)
	if err != nil {
		return "", err
	}
	if !acct.Active {
		return "", kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	return acct.CitizenID, nil
}

// TeacherClasses lists the classes the acting account teaches.
func (s *Service) TeacherClasses(ctx context.Context) ([]Class, error) {
	if s.o.Schools == nil {
		return nil, nil
	}
	me, err := s.actorCitizen(ctx)
	if err != nil {
		return nil, err
	}
	return s.o.Schools.TeacherClasses(ctx, me)
}

// teacherOf checks that the acting account teaches the class; a class it
// does not teach is NotFound.
func (s *Service) teacherOf(ctx context.Context, classID string) (Class, string, error) {
	if s.o.Schools == nil {
		return Class{}, "", kernel.E(kernel.NotFound, "learning.error.no_class")
	}
	me, err := s.actorCitizen(ctx)
	if err != nil {
		return Class{}, "", err
	}
	classes, err := s.o.Schools.TeacherClasses(ctx, me)
	if err != nil {
		return Class{}, "", err
	}
	for _, c := range classes {
		if c.ID == classID {
			return c, me, nil
		}
	}
	return Class{}, "", kernel.E(kernel.NotFound, "learning.error.no_class")
}

// onRoll checks that a learner is on the class's roll.
func (s *Service) onRoll(ctx context.Context, classID, learner string) (Student, error) {
	roll, err := s.o.Schools.Students(ctx, classID)
	if err != nil {
		return Student{}, err
	}
	for _, st := range roll {
		if st.CitizenID == learner {
			return st, nil
		}
	}
	return Student{}, kernel.E(kernel.NotFound, "learning.error.not_in_class")
}

// Assign sets a course to a class with a deadline (an assignment made
// before is given the new deadline).
func (s *Service) Assign(ctx context.Context, classID, course string, deadline time.Time) error {
	c, me, err := s.teacherOf(ctx, classID)
	if err != nil {
		return err
	}
	if !deadline.After(s.now()) {
		return kernel.E(kernel.Invalid, "learning.error.deadline_past")
	}
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if _, err := findCourse(ctx, tx, course); err != nil {
			return err
		}
		id := kernel.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO learning_assignments (id, course, school, class, deadline, assigned_by, assigned_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (class, course) DO UPDATE SET deadline = excluded.deadline`,
			id, course, c.SchoolCode, c.ID, kernel.Micros(deadline), me, kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "learning: assign")
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.assign", SubjectType: "class", SubjectID: c.ID,
			Details: map[string]any{"course": course, "deadline": deadline.UTC().Format(time.RFC3339)}})
	})
}

// Assignment is a course set to a class.
type Assignment struct {
	ID       string
	Course   CourseInfo
	Deadline time.Time
}

// Cell is one student's standing in one assigned course.
type Cell struct {
	Course      string
	Enrolled    bool
	LessonsRead int
	Lessons     int
	Best        int // per mille; -1 none
	FinalUsed   int
	Attempts    int // the course's attempts at the final test
	Passed      bool
	Deadline    time.Time
	Extended    bool
	Overdue     bool
}

// StudentRow is a student's row of a class's progress.
type StudentRow struct {
	Student Student
	Cells   []Cell // in the order of ClassReport.Assignments
}

// ClassReport is a class's progress in the courses set to it.
type ClassReport struct {
	Class       Class
	Assignments []Assignment
	Rows        []StudentRow
	// Courses is every course, for the form that sets one to the class:
	// read with the assignments' courses, in the same transaction.
	Courses []CourseInfo
}

// ClassProgress returns the progress of every student of a class the
// acting teacher teaches in every course set to it, and records the read
// of each student's progress in the data-use log.
func (s *Service) ClassProgress(ctx context.Context, classID string) (ClassReport, error) {
	c, _, err := s.teacherOf(ctx, classID)
	if err != nil {
		return ClassReport{}, err
	}
	roll, err := s.o.Schools.Students(ctx, classID)
	if err != nil {
		return ClassReport{}, err
	}
	return s.classProgress(ctx, c, roll, "class:"+c.ID)
}

// classProgressLogging is ClassProgress for the class page: the reads'
// records go to the data-use log (a group commit, db.Batch) while the
// caller builds the page, and logged waits for them. The caller shows the
// page only when logged returned nil: no read is seen unlogged.
func (s *Service) classProgressLogging(ctx context.Context, classID string) (rep ClassReport, logged func() error, err error) {
	c, _, err := s.teacherOf(ctx, classID)
	if err != nil {
		return ClassReport{}, nil, err
	}
	roll, err := s.o.Schools.Students(ctx, classID)
	if err != nil {
		return ClassReport{}, nil, err
	}
	return s.classProgressStarted(ctx, c, roll, "class:"+c.ID)
}

// classProgress is ClassProgress for the students of roll.
func (s *Service) classProgress(ctx context.Context, c Class, roll []Student, caseRef string) (ClassReport, error) {
	rep, logged, err := s.classProgressStarted(ctx, c, roll, caseRef)
	if err != nil {
		return ClassReport{}, err
	}
	if err := logged(); err != nil {
		return ClassReport{}, err
	}
	return rep, nil
}

// classProgressStarted reads the progress of roll and starts writing the
// reads to the data-use log; logged waits for the write.
func (s *Service) classProgressStarted(ctx context.Context, c Class, roll []Student, caseRef string) (ClassReport, func() error, error) {
	classID := c.ID
	rep := ClassReport{Class: c}
	now := s.now()
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, course, deadline FROM learning_assignments WHERE class = ? ORDER BY course`, classID)
		if err != nil {
			return kernel.Wrap(err, "learning: class progress")
		}
		for rows.Next() {
			var a Assignment
			var d int64
			if err := rows.Scan(&a.ID, &a.Course.Code, &d); err != nil {
				rows.Close()
				return kernel.Wrap(err, "learning: class progress")
			}
			a.Deadline = kernel.FromMicros(d)
			rep.Assignments = append(rep.Assignments, a)
		}
		rows.Close()
		// The courses are few: one read of them all gives the assignments'
		// and the list the page's form offers, where a query per assignment
		// and another transaction for the form's list were a quarter of
		// the page's CPU.
		if rep.Courses, err = listCourses(ctx, tx); err != nil {
			return err
		}
		if len(rep.Assignments) == 0 || len(roll) == 0 {
			for _, st := range roll {
				rep.Rows = append(rep.Rows, StudentRow{Student: st})
			}
			return nil
		}
		courseIdx := map[string]int{}
		for i := range rep.Assignments {
			k := slices.IndexFunc(rep.Courses, func(c CourseInfo) bool { return c.Code == rep.Assignments[i].Course.Code })
			if k < 0 {
				return kernel.E(kernel.NotFound, "learning.error.no_course")
			}
			rep.Assignments[i].Course = rep.Courses[k]
			courseIdx[rep.Assignments[i].Course.Code] = i
		}
		learners := make([]any, 0, len(roll))
		rowOf := map[string]int{}
		for i, st := range roll {
			learners = append(learners, st.CitizenID)
			rowOf[st.CitizenID] = i
			r := StudentRow{Student: st, Cells: make([]Cell, len(rep.Assignments))}
			for k, a := range rep.Assignments {
				r.Cells[k] = Cell{Course: a.Course.Code, Best: -1, Lessons: a.Course.Lessons, Attempts: a.Course.FinalAttempts,
					Deadline: a.Deadline, Overdue: now.After(a.Deadline)}
			}
			rep.Rows = append(rep.Rows, r)
		}
		courses := make([]any, 0, len(rep.Assignments))
		for _, a := range rep.Assignments {
			courses = append(courses, a.Course.Code)
		}
		q := `SELECT learner, course, lessons_read, best, final_used, passed_at FROM learning_enrolments WHERE learner IN (` +
			placeholders(len(learners)) + `) AND course IN (` + placeholders(len(courses)) + `)`
		er, err := tx.Query(ctx, q, append(learners, courses...)...)
		if err != nil {
			return kernel.Wrap(err, "learning: class progress")
		}
		for er.Next() {
			var learner, course string
			var read, best, used int
			var passed int64
			if err := er.Scan(&learner, &course, &read, &best, &used, &passed); err != nil {
				er.Close()
				return kernel.Wrap(err, "learning: class progress")
			}
			cell := &rep.Rows[rowOf[learner]].Cells[courseIdx[course]]
			cell.Enrolled, cell.LessonsRead, cell.Best, cell.FinalUsed, cell.Passed = true, read, best, used, passed != 0
			if cell.Passed {
				cell.Overdue = false
			}
		}
		er.Close()
		ids := make([]any, 0, len(rep.Assignments))
		for _, a := range rep.Assignments {
			ids = append(ids, a.ID)
		}
		xr, err := tx.Query(ctx, `SELECT assignment, learner, deadline FROM learning_extensions WHERE assignment IN (`+placeholders(len(ids))+`)`, ids...)
		if err != nil {
			return kernel.Wrap(err, "learning: class progress")
		}
		defer xr.Close()
		for xr.Next() {
			var assignment, learner string
			var d int64
			if err := xr.Scan(&assignment, &learner, &d); err != nil {
				return kernel.Wrap(err, "learning: class progress")
			}
			i, ok := rowOf[learner]
			if !ok {
				continue
			}
			for k, a := range rep.Assignments {
				if a.ID == assignment && kernel.FromMicros(d).After(a.Deadline) {
					cell := &rep.Rows[i].Cells[k]
					cell.Deadline, cell.Extended = kernel.FromMicros(d), true
					cell.Overdue = !cell.Passed && now.After(cell.Deadline)
				}
			}
		}
		return kernel.Wrap(xr.Err(), "learning: class progress")
	})
	if err != nil {
		return ClassReport{}, nil, err
	}
	if len(rep.Assignments) == 0 {
		return rep, func() error { return nil }, nil // no progress read, nothing to log
	}
	done := make(chan error, 1)
	at := s.now()
	go func() {
		done <- s.o.DB.Batch(ctx, at, func(tx *db.Tx) error {
			fields := []string{"lessons_read", "best_score", "attempts", "passed"}
			for _, st := range roll {
				if err := s.o.UseLog.Record(ctx, tx, kernel.DataUse{Subject: st.CitizenID, ReaderName: c.SchoolName + " – " + c.Name,
					Channel: "learning.class", Service: "progress", Fields: fields,
					Purpose: PurposeTeaching, CaseRef: caseRef}); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	return rep, sync.OnceValue(func() error { return <-done }), nil
}

// AttemptSummary is an attempt as a teacher's list shows it.
type AttemptSummary struct {
	ID          string
	Quiz        string
	StartedAt   time.Time
	SubmittedAt time.Time // zero while open
	Score       int       // per mille; -1 while open
	Passed      bool
	Counted     bool // false once the teacher reset the attempts
}

// StudentReport is one student's progress in the courses set to their
// class, with their attempts at each.
type StudentReport struct {
	Class       Class
	Student     Student
	Assignments []Assignment
	Cells       []Cell
	Attempts    map[string][]AttemptSummary // by course
}

// StudentProgress returns a student of the teacher's class, their
// progress and attempts; the read is logged.
func (s *Service) StudentProgress(ctx context.Context, classID, learner string) (StudentReport, error) {
	c, _, err := s.teacherOf(ctx, classID)
	if err != nil {
		return StudentReport{}, err
	}
	st, err := s.onRoll(ctx, classID, learner)
	if err != nil {
		return StudentReport{}, err
	}
	rep, err := s.classProgress(ctx, c, []Student{st}, "student:"+c.ID)
	if err != nil {
		return StudentReport{}, err
	}
	out := StudentReport{Class: c, Student: st, Assignments: rep.Assignments, Attempts: map[string][]AttemptSummary{}}
	if len(rep.Rows) == 1 {
		out.Cells = rep.Rows[0].Cells
	}
	rows, err := s.o.DB.Query(ctx, `SELECT id, course, quiz, started_at, submitted_at, score, passed, counted FROM learning_attempts
		WHERE learner = ? AND quiz = ? ORDER BY started_at`, learner, FinalQuiz)
	if err != nil {
		return out, kernel.Wrap(err, "learning: student's attempts")
	}
	defer rows.Close()
	for rows.Next() {
		var a AttemptSummary
		var course string
		var started, submitted int64
		var passed, counted int
		if err := rows.Scan(&a.ID, &course, &a.Quiz, &started, &submitted, &a.Score, &passed, &counted); err != nil {
			return out, kernel.Wrap(err, "learning: student's attempts")
		}
		a.StartedAt, a.Passed, a.Counted = kernel.FromMicros(started), passed == 1, counted == 1
		if submitted != 0 {
			a.SubmittedAt = kernel.FromMicros(submitted)
		}
		out.Attempts[course] = append(out.Attempts[course], a)
	}
	return out, kernel.Wrap(rows.Err(), "learning: student's attempts")
}

func placeholders(n int) string {
	if n <= 0 {
		return "NULL"
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// ClassFigures are a class's counts in one course.
type ClassFigures struct {
	Enrolled, Completed int
}

// SchoolReport is a school's completion figures, class by class: counts,
// no person's data.
type SchoolReport struct {
	School  School
	Classes []Class
	Courses []CourseInfo
	// Figures[class ID][course code].
	Figures  map[string]map[string]ClassFigures
	Assigned map[string]map[string]time.Time
	// Totals per course over the whole school, and its roll.
	Totals map[string]ClassFigures
	Roll   int
}

// SchoolProgress returns a school's completion figures to a teacher of
// that school.
func (s *Service) SchoolProgress(ctx context.Context, schoolCode string) (SchoolReport, error) {
	classes, err := s.TeacherClasses(ctx)
	if err != nil {
		return SchoolReport{}, err
	}
	teaches := false
	for _, c := range classes {
		teaches = teaches || c.SchoolCode == schoolCode
	}
	if !teaches {
		return SchoolReport{}, kernel.E(kernel.NotFound, "learning.error.no_school")
	}
	sc, err := s.o.Schools.School(ctx, schoolCode)
	if err != nil {
		return SchoolReport{}, err
	}
	all, err := s.o.Schools.Classes(ctx, schoolCode)
	if err != nil {
		return SchoolReport{}, err
	}
	rep := SchoolReport{School: sc, Classes: all, Figures: map[string]map[string]ClassFigures{},
		Assigned: map[string]map[string]time.Time{}, Totals: map[string]ClassFigures{}}
	for _, c := range all {
		rep.Roll += c.Students
	}
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		if rep.Courses, err = listCourses(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT class, course, COUNT(*), SUM(CASE WHEN passed_at > 0 THEN 1 ELSE 0 END)
			FROM learning_enrolments WHERE school = ? GROUP BY class, course`, schoolCode)
		if err != nil {
			return kernel.Wrap(err, "learning: school progress")
		}
		for rows.Next() {
			var class, course string
			var f ClassFigures
			if err := rows.Scan(&class, &course, &f.Enrolled, &f.Completed); err != nil {
				rows.Close()
				return kernel.Wrap(err, "learning: school progress")
			}
			if rep.Figures[class] == nil {
				rep.Figures[class] = map[string]ClassFigures{}
			}
			rep.Figures[class][course] = f
			t := rep.Totals[course]
			t.Enrolled += f.Enrolled
			t.Completed += f.Completed
			rep.Totals[course] = t
		}
		rows.Close()
		ar, err := tx.Query(ctx, `SELECT class, course, deadline FROM learning_assignments WHERE school = ?`, schoolCode)
		if err != nil {
			return kernel.Wrap(err, "learning: school progress")
		}
		defer ar.Close()
		for ar.Next() {
			var class, course string
			var d int64
			if err := ar.Scan(&class, &course, &d); err != nil {
				return kernel.Wrap(err, "learning: school progress")
			}
			if rep.Assigned[class] == nil {
				rep.Assigned[class] = map[string]time.Time{}
			}
			rep.Assigned[class][course] = kernel.FromMicros(d)
		}
		return kernel.Wrap(ar.Err(), "learning: school progress")
	})
	return rep, err
}

// ResetAttempts gives a student of the teacher's class their attempts at
// a course's final test back: the attempts made stay, no longer counted.
func (s *Service) ResetAttempts(ctx context.Context, classID, learner, course string) error {
	c, _, err := s.teacherOf(ctx, classID)
	if err != nil {
		return err
	}
	if _, err := s.onRoll(ctx, classID, learner); err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		e, err := findEnrolment(ctx, tx, course, learner)
		if err != nil {
			return err
		}
		if e.Passed() {
			return kernel.E(kernel.Conflict, "learning.error.already_passed")
		}
		if _, err := tx.Exec(ctx, `UPDATE learning_attempts SET counted = 0 WHERE enrolment = ? AND quiz = ? AND counted = 1`, e.ID, FinalQuiz); err != nil {
			return kernel.Wrap(err, "learning: reset attempts")
		}
		if _, err := tx.Exec(ctx, `UPDATE learning_enrolments SET final_used = 0 WHERE id = ?`, e.ID); err != nil {
			return kernel.Wrap(err, "learning: reset attempts")
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.attempts.reset", SubjectType: "enrolment", SubjectID: e.ID,
			Purpose: PurposeTeaching, Details: map[string]any{"course": course, "class": c.ID, "had": e.FinalUsed}})
	})
}

// ExtendDeadline moves a student's deadline for a course set to the
// teacher's class.
func (s *Service) ExtendDeadline(ctx context.Context, classID, learner, course string, deadline time.Time) error {
	c, me, err := s.teacherOf(ctx, classID)
	if err != nil {
		return err
	}
	if _, err := s.onRoll(ctx, classID, learner); err != nil {
		return err
	}
	if !deadline.After(s.now()) {
		return kernel.E(kernel.Invalid, "learning.error.deadline_past")
	}
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		var id string
		var d int64
		err := tx.QueryRow(ctx, `SELECT id, deadline FROM learning_assignments WHERE class = ? AND course = ?`, classID, course).Scan(&id, &d)
		if err != nil {
			return notFound(err, "learning.error.not_assigned", "assignment")
		}
		if !deadline.After(kernel.FromMicros(d)) {
			return kernel.E(kernel.Invalid, "learning.error.deadline_not_later")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO learning_extensions (assignment, learner, deadline, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (assignment, learner) DO UPDATE SET deadline = excluded.deadline, granted_by = excluded.granted_by, granted_at = excluded.granted_at`,
			id, learner, kernel.Micros(deadline), me, kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "learning: extend deadline")
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.deadline.extend", SubjectType: "class", SubjectID: c.ID,
			Purpose: PurposeTeaching, Details: map[string]any{"course": course, "deadline": deadline.UTC().Format(time.RFC3339)}})
	})
}

// teacherOfLearner reports the class of the learner that the acting
// account teaches, if any.
func (s *Service) teacherOfLearner(ctx context.Context, learner string) (Class, bool, error) {
	if s.o.Schools == nil {
		return Class{}, false, nil
	}
	me, err := s.actorCitizen(ctx)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Unauthenticated {
			return Class{}, false, nil
		}
		return Class{}, false, err
	}
	sc, err := s.o.Schools.StudentClass(ctx, learner)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return Class{}, false, nil
	}
	if err != nil {
		return Class{}, false, err
	}
	classes, err := s.o.Schools.TeacherClasses(ctx, me)
	if err != nil {
		return Class{}, false, err
	}
	for _, c := range classes {
		if c.ID == sc.ID {
			return c, true, nil
		}
	}
	return Class{}, false, nil
}
