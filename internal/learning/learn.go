package learning

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Enrolment is a learner in a course.
type Enrolment struct {
	ID          string
	Course      string
	Learner     string // citizen ID
	Unit        string // the learner's commune
	School      string
	Class       string
	EnrolledAt  time.Time
	LessonsRead int
	FinalUsed   int // attempts at the final test counted against the limit
	Best        int // best final-test score, per mille; -1 none
	PassedAt    time.Time
	CertState   string // "", "pending", "issued"
	Certificate string // the wallet document, once issued
}

// Passed reports whether the learner passed the final test.
func (e Enrolment) Passed() bool { return !e.PassedAt.IsZero() }

// Certificate states.
const (
	CertPending = "pending"
	CertIssued  = "issued"
)

const enrolmentColumns = `id, course, learner, unit, school, class, enrolled_at, lessons_read, final_used, best, passed_at, cert_state, certificate`

func scanEnrolment(sc interface{ Scan(...any) error }) (Enrolment, error) {
	var e Enrolment
	var enrolled, passed int64
	err := sc.Scan(&e.ID, &e.Course, &e.Learner, &e.Unit, &e.School, &e.Class, &enrolled, &e.LessonsRead, &e.FinalUsed, &e.Best,
		&passed, &e.CertState, &e.Certificate)
	e.EnrolledAt = kernel.FromMicros(enrolled)
	if passed != 0 {
		e.PassedAt = kernel.FromMicros(passed)
	}
	return e, err
}

func findEnrolment(ctx context.Context, tx *db.Tx, course, learner string) (Enrolment, error) {
	e, err := scanEnrolment(tx.QueryRow(ctx, `SELECT `+enrolmentColumns+` FROM learning_enrolments WHERE course = ? AND learner = ?`, course, learner))
	if err != nil {
		return e, notFound(err, "learning.error.not_enrolled", "enrolment")
	}
	return e, nil
}

// placement is where a new enrolment belongs: the learner's commune, and
// their school and class when they are a student.
type placement struct{ unit, school, class string }

func (s *Service) placementOf(ctx context.Context, learner string) (placement, error) {
	p, err := s.o.People.Person(ctx, learner)
	if err != nil {
		return placement{}, err
	}
	pl := placement{unit: p.UnitCode}
	if s.o.Schools != nil {
		c, err := s.o.Schools.StudentClass(ctx, learner)
		switch {
		case err == nil:
			pl.school, pl.class = c.SchoolCode, c.ID
		case kernel.ErrorCode(err) != kernel.NotFound:
			return placement{}, err
		}
	}
	return pl, nil
}

// ensureEnrolment finds the learner's enrolment in tx, or makes it.
func (s *Service) ensureEnrolment(ctx context.Context, tx *db.Tx, course, learner string, pl placement) (Enrolment, error) {
	e, err := findEnrolment(ctx, tx, course, learner)
	if kernel.ErrorCode(err) != kernel.NotFound {
		return e, err
	}
	e = Enrolment{ID: kernel.NewID(), Course: course, Learner: learner, Unit: pl.unit, School: pl.school, Class: pl.class,
		EnrolledAt: tx.Now, Best: -1}
	if _, err := tx.Exec(ctx, `INSERT INTO learning_enrolments (id, course, learner, unit, school, class, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.ID, course, learner, pl.unit, pl.school, pl.class, kernel.Micros(tx.Now)); err != nil {
		return e, kernel.Wrap(err, "learning: enrol")
	}
	tally.Add(ctx, tx, "learning.enrolments", pl.unit, 1)
	return e, audit.Queue(ctx, tx, audit.Entry{Action: "learning.enrol", SubjectType: "enrolment", SubjectID: e.ID,
		Details: map[string]any{"course": course}})
}

// Enrol enrols the learner in a course (nothing happens when they are
// enrolled already).
func (s *Service) Enrol(ctx context.Context, learner, course string) (Enrolment, error) {
	if err := s.actsFor(ctx, learner); err != nil {
		return Enrolment{}, err
	}
	pl, err := s.placementOf(ctx, learner)
	if err != nil {
		return Enrolment{}, err
	}
	var e Enrolment
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if _, err := findCourse(ctx, tx, course); err != nil {
			return err
		}
		e, err = s.ensureEnrolment(ctx, tx, course, learner, pl)
		return err
	})
	return e, err
}

// MarkRead records that the learner read a lesson (enrolling them if need be).
func (s *Service) MarkRead(ctx context.Context, learner, course, slug string) error {
	if err := s.actsFor(ctx, learner); err != nil {
		return err
	}
	pl, err := s.placementOf(ctx, learner)
	if err != nil {
		return err
	}
	return s.o.DB.Batch(ctx, s.now(), func(tx *db.Tx) error {
		var seq int
		err := tx.QueryRow(ctx, `SELECT seq FROM learning_lessons WHERE course = ? AND slug = ?`, course, slug).Scan(&seq)
		if err != nil {
			return notFound(err, "learning.error.no_lesson", "lesson")
		}
		e, err := s.ensureEnrolment(ctx, tx, course, learner, pl)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO learning_reads (enrolment, slug, read_at) VALUES (?, ?, ?) ON CONFLICT (enrolment, slug) DO NOTHING`,
			e.ID, slug, kernel.Micros(tx.Now))
		if err != nil {
			return kernel.Wrap(err, "learning: read")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err := tx.Exec(ctx, `UPDATE learning_enrolments SET lessons_read = lessons_read + 1 WHERE id = ?`, e.ID); err != nil {
				return kernel.Wrap(err, "learning: read")
			}
		}
		return nil
	})
}

// QuizResult is a learner's standing in one quiz of a course.
type QuizResult struct {
	Quiz     string // a lesson's slug, or "final"
	Attempts int    // submitted
	Best     int    // per mille; -1 none
	Passed   bool
	Open     string // an attempt started and not submitted
}

// Progress is a learner's progress in a course.
type Progress struct {
	Enrolled  bool
	Enrolment Enrolment
	Read      map[string]time.Time // lesson slug -> when read
	Quizzes   map[string]QuizResult
	Deadline  time.Time // of the course's assignment to the learner's class, with any extension; zero: none
}

// Progress returns the learner's progress in a course. The learner, their
// guardian, and the system may read it; teachers read it through
// ClassProgress.
func (s *Service) Progress(ctx context.Context, learner, course string) (Progress, error) {
	if err := s.actsFor(ctx, learner); err != nil {
		return Progress{}, err
	}
	p := Progress{Read: map[string]time.Time{}, Quizzes: map[string]QuizResult{}}
	deadline, err := s.deadline(ctx, learner, course)
	if err != nil {
		return p, err
	}
	p.Deadline = deadline
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		e, err := findEnrolment(ctx, tx, course, learner)
		if kernel.ErrorCode(err) == kernel.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		p.Enrolled, p.Enrolment = true, e
		rows, err := tx.Query(ctx, `SELECT slug, read_at FROM learning_reads WHERE enrolment = ?`, e.ID)
		if err != nil {
			return kernel.Wrap(err, "learning: progress")
		}
		for rows.Next() {
			var slug string
			var at int64
			if err := rows.Scan(&slug, &at); err != nil {
				rows.Close()
				return kernel.Wrap(err, "learning: progress")
			}
			p.Read[slug] = kernel.FromMicros(at)
		}
		rows.Close()
		rows, err = tx.Query(ctx, `SELECT id, quiz, submitted_at, score, passed, counted FROM learning_attempts WHERE enrolment = ? ORDER BY started_at`, e.ID)
		if err != nil {
			return kernel.Wrap(err, "learning: progress")
		}
		defer rows.Close()
		for rows.Next() {
			var id, quiz string
			var submitted int64
			var score, passed, counted int
			if err := rows.Scan(&id, &quiz, &submitted, &score, &passed, &counted); err != nil {
				return kernel.Wrap(err, "learning: progress")
			}
			r, ok := p.Quizzes[quiz]
			if !ok {
				r = QuizResult{Quiz: quiz, Best: -1}
			}
			if submitted == 0 {
				if counted == 1 {
					r.Open = id
				}
			} else {
				r.Attempts++
				r.Best = max(r.Best, score)
				r.Passed = r.Passed || passed == 1
			}
			p.Quizzes[quiz] = r
		}
		return kernel.Wrap(rows.Err(), "learning: progress")
	})
	return p, err
}

// LearnerCourse is one of a learner's courses on their own page.
type LearnerCourse struct {
	Course    CourseInfo
	Enrolment Enrolment
	Enrolled  bool
	Assigned  bool      // set by their class's teacher
	Deadline  time.Time // zero: none
}

// LearnerCourses lists the learner's courses: those they are enrolled in,
// and those set to their class.
func (s *Service) LearnerCourses(ctx context.Context, learner string) ([]LearnerCourse, error) {
	if err := s.actsFor(ctx, learner); err != nil {
		return nil, err
	}
	var class string
	if s.o.Schools != nil {
		c, err := s.o.Schools.StudentClass(ctx, learner)
		if err == nil {
			class = c.ID
		} else if kernel.ErrorCode(err) != kernel.NotFound {
			return nil, err
		}
	}
	var out []LearnerCourse
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		courses, err := listCourses(ctx, tx)
		if err != nil {
			return err
		}
		enrolled := map[string]Enrolment{}
		rows, err := tx.Query(ctx, `SELECT `+enrolmentColumns+` FROM learning_enrolments WHERE learner = ?`, learner)
		if err != nil {
			return kernel.Wrap(err, "learning: learner's courses")
		}
		for rows.Next() {
			e, err := scanEnrolment(rows)
			if err != nil {
				rows.Close()
				return kernel.Wrap(err, "learning: learner's courses")
			}
			enrolled[e.Course] = e
		}
		rows.Close()
		assigned := map[string]time.Time{}
		if class != "" {
			rows, err := tx.Query(ctx, `SELECT a.course, a.deadline, COALESCE(x.deadline, 0) FROM learning_assignments a
				LEFT JOIN learning_extensions x ON x.assignment = a.id AND x.learner = ? WHERE a.class = ?`, learner, class)
			if err != nil {
				return kernel.Wrap(err, "learning: learner's courses")
			}
			for rows.Next() {
				var course string
				var d, ext int64
				if err := rows.Scan(&course, &d, &ext); err != nil {
					rows.Close()
					return kernel.Wrap(err, "learning: learner's courses")
				}
				assigned[course] = kernel.FromMicros(max(d, ext))
			}
			rows.Close()
		}
		for _, c := range courses {
			e, isEnrolled := enrolled[c.Code]
			d, isAssigned := assigned[c.Code]
			if isEnrolled || isAssigned {
				out = append(out, LearnerCourse{Course: c, Enrolment: e, Enrolled: isEnrolled, Assigned: isAssigned, Deadline: d})
			}
		}
		return nil
	})
	return out, err
}

// MasteryRow is a learner's mastery of one competence.
type MasteryRow struct {
	Competence string
	Level      int
	Answered   int
	Points     int // per mille of a question, summed
}

// Mastery returns the learner's mastery of each competence they were
// asked about.
func (s *Service) Mastery(ctx context.Context, learner string) ([]MasteryRow, error) {
	if err := s.actsFor(ctx, learner); err != nil {
		return nil, err
	}
	rows, err := s.o.DB.Query(ctx, `SELECT competence, level, answered, points FROM learning_mastery WHERE learner = ? ORDER BY competence`, learner)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: mastery")
	}
	defer rows.Close()
	var out []MasteryRow
	for rows.Next() {
		var m MasteryRow
		if err := rows.Scan(&m.Competence, &m.Level, &m.Answered, &m.Points); err != nil {
			return nil, kernel.Wrap(err, "learning: mastery")
		}
		out = append(out, m)
	}
	return out, kernel.Wrap(rows.Err(), "learning: mastery")
}

// deadline is the learner's deadline for a course: its assignment to the
// learner's class, or a teacher's extension for them. Zero: none.
func (s *Service) deadline(ctx context.Context, learner, course string) (time.Time, error) {
	if s.o.Schools == nil {
		return time.Time{}, nil
	}
	c, err := s.o.Schools.StudentClass(ctx, learner)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var d, ext int64
	err = s.o.DB.QueryRow(ctx, `SELECT a.deadline, COALESCE(x.deadline, 0) FROM learning_assignments a
		LEFT JOIN learning_extensions x ON x.assignment = a.id AND x.learner = ? WHERE a.class = ? AND a.course = ?`,
		learner, c.ID, course).Scan(&d, &ext)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, kernel.Wrap(err, "learning: deadline")
	}
	return kernel.FromMicros(max(d, ext)), nil
}
