package learning

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/tally"
)

// Community classes: a commune's digital technology team schedules
// in-person sessions (place, time, capacity) for people who cannot learn
// alone, books people in (themselves online, or at the desk for those
// without a phone), records who came, and marks people as trained.

// TopicBasic is the topic of sessions on general digital skills (no course).
const TopicBasic = "basic"

// Session is a community class.
type Session struct {
	ID       string
	Unit     string // the commune
	Agency   string
	Topic    string // a course code, or TopicBasic
	Title    string
	Place    string
	StartsAt time.Time
	EndsAt   time.Time
	Capacity int
	Booked   int
}

// Full reports whether every seat is taken.
func (s Session) Full() bool { return s.Booked >= s.Capacity }

// SessionInput is a session to schedule.
type SessionInput struct {
	Topic    string
	Title    string
	Place    string
	StartsAt time.Time
	EndsAt   time.Time
	Capacity int
}

const sessionColumns = `id, unit, agency, topic, title, place, starts_at, ends_at, capacity, booked`

func scanSession(sc interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var starts, ends int64
	err := sc.Scan(&s.ID, &s.Unit, &s.Agency, &s.Topic, &s.Title, &s.Place, &starts, &ends, &s.Capacity, &s.Booked)
	s.StartsAt, s.EndsAt = kernel.FromMicros(starts), kernel.FromMicros(ends)
	return s, err
}

// trainer returns the acting official's post at agency, which must be a
// trainer's (a technology team's).
func (s *Service) trainer(ctx context.Context, agency string) (Post, error) {
	if s.o.Officials == nil {
		return Post{}, kernel.E(kernel.Forbidden, "learning.error.not_trainer")
	}
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorOfficial && a.Kind != kernel.ActorCitizen {
		return Post{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	posts, err := s.o.Officials.Posts(ctx, a.ID)
	if err != nil {
		return Post{}, err
	}
	for _, p := range posts {
		if p.AgencyCode == agency && p.Trainer {
			return p, nil
		}
	}
	return Post{}, kernel.E(kernel.Forbidden, "learning.error.not_trainer")
}

func validLine(s string, max int) bool {
	return strings.TrimSpace(s) == s && s != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && !strings.ContainsAny(s, "\x00\r\n")
}

// ScheduleSession schedules a community class in the unit of the
// official's agency.
func (s *Service) ScheduleSession(ctx context.Context, agency string, in SessionInput) (Session, error) {
	p, err := s.trainer(ctx, agency)
	if err != nil {
		return Session{}, err
	}
	in.Title, in.Place = strings.TrimSpace(in.Title), strings.TrimSpace(in.Place)
	switch {
	case !validLine(in.Title, 200):
		return Session{}, kernel.E(kernel.Invalid, "learning.error.session_title")
	case !validLine(in.Place, 300):
		return Session{}, kernel.E(kernel.Invalid, "learning.error.session_place")
	case in.Capacity < 1 || in.Capacity > 500:
		return Session{}, kernel.E(kernel.Invalid, "learning.error.session_capacity", 500)
	case !in.StartsAt.After(s.now()):
		return Session{}, kernel.E(kernel.Invalid, "learning.error.session_past")
	case !in.EndsAt.After(in.StartsAt) || in.EndsAt.Sub(in.StartsAt) > 12*time.Hour:
		return Session{}, kernel.E(kernel.Invalid, "learning.error.session_times")
	}
	ses := Session{ID: kernel.NewID(), Unit: p.UnitCode, Agency: agency, Topic: in.Topic, Title: in.Title, Place: in.Place,
		StartsAt: in.StartsAt.Truncate(time.Minute), EndsAt: in.EndsAt.Truncate(time.Minute), Capacity: in.Capacity}
	if ses.Topic == "" {
		ses.Topic = TopicBasic
	}
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if ses.Topic != TopicBasic {
			if _, err := findCourse(ctx, tx, ses.Topic); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO learning_sessions (`+sessionColumns+`, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
			ses.ID, ses.Unit, ses.Agency, ses.Topic, ses.Title, ses.Place, kernel.Micros(ses.StartsAt), kernel.Micros(ses.EndsAt), ses.Capacity,
			kernel.ActorFrom(ctx).ID, kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "learning: schedule session")
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.session.schedule", SubjectType: "session", SubjectID: ses.ID,
			Details: map[string]any{"unit": ses.Unit, "topic": ses.Topic, "capacity": ses.Capacity}})
	})
	return ses, err
}

// Sessions lists the sessions that have not ended, soonest first, in a
// unit ("" for every unit), after the page's key (a session ID).
func (s *Service) Sessions(ctx context.Context, unit string, p kernel.Page) ([]Session, error) {
	p = p.Normalize(50)
	now := kernel.Micros(s.now())
	q := `SELECT ` + sessionColumns + ` FROM learning_sessions WHERE ends_at > ?`
	args := []any{now}
	if unit != "" {
		q += ` AND unit = ?`
		args = append(args, unit)
	}
	if p.After != "" {
		var starts int64
		if err := s.o.DB.QueryRow(ctx, `SELECT starts_at FROM learning_sessions WHERE id = ?`, p.After).Scan(&starts); err != nil {
			return nil, notFound(err, "learning.error.no_session", "session")
		}
		q += ` AND (starts_at > ? OR (starts_at = ? AND id > ?))`
		args = append(args, starts, starts, p.After)
	}
	q += ` ORDER BY starts_at, id LIMIT ?`
	args = append(args, p.Limit)
	rows, err := s.o.DB.Query(ctx, q, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: sessions")
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ses, err := scanSession(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "learning: sessions")
		}
		out = append(out, ses)
	}
	return out, kernel.Wrap(rows.Err(), "learning: sessions")
}

// SessionByID returns a session.
func (s *Service) SessionByID(ctx context.Context, id string) (Session, error) {
	ses, err := scanSession(s.o.DB.QueryRow(ctx, `SELECT `+sessionColumns+` FROM learning_sessions WHERE id = ?`, id))
	if err != nil {
		return ses, notFound(err, "learning.error.no_session", "session")
	}
	return ses, nil
}

// book takes a seat for person in tx: refused when the session is full,
// has ended, or the person has a seat already.
func book(ctx context.Context, tx *db.Tx, sessionID, person, by string) error {
	res, err := tx.Exec(ctx, `UPDATE learning_sessions SET booked = booked + 1 WHERE id = ? AND booked < capacity AND ends_at > ?`,
		sessionID, kernel.Micros(tx.Now))
	if err != nil {
		return kernel.Wrap(err, "learning: book")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.E(kernel.Conflict, "learning.error.session_full")
	}
	res, err = tx.Exec(ctx, `INSERT INTO learning_seats (session, person, booked_at, booked_by) VALUES (?, ?, ?, ?) ON CONFLICT (session, person) DO NOTHING`,
		sessionID, person, kernel.Micros(tx.Now), by)
	if err != nil {
		return kernel.Wrap(err, "learning: book")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.E(kernel.Conflict, "learning.error.already_booked")
	}
	return nil
}

// Book takes a seat at a session for the learner (themself, or a child
// their guardian acts for).
func (s *Service) Book(ctx context.Context, learner, sessionID string) error {
	if err := s.actsFor(ctx, learner); err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if err := book(ctx, tx, sessionID, learner, "self"); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.session.book", SubjectType: "session", SubjectID: sessionID})
	})
}

// Booked reports the sessions the learner has a seat at, among ids.
func (s *Service) Booked(ctx context.Context, learner string) (map[string]bool, error) {
	rows, err := s.o.DB.Query(ctx, `SELECT session FROM learning_seats WHERE person = ?`, learner)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: booked")
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, kernel.Wrap(err, "learning: booked")
		}
		out[id] = true
	}
	return out, kernel.Wrap(rows.Err(), "learning: booked")
}

// Seat is a person booked at a session, as the team's roster shows it.
type Seat struct {
	Person   registry.Person
	BookedAt time.Time
	Attended bool
	Trained  bool // marked trained in the session's topic
}

// sessionOf returns a session of the official's agency.
func (s *Service) sessionOf(ctx context.Context, agency, id string) (Session, Post, error) {
	p, err := s.trainer(ctx, agency)
	if err != nil {
		return Session{}, Post{}, err
	}
	ses, err := s.SessionByID(ctx, id)
	if err != nil {
		return Session{}, Post{}, err
	}
	if ses.Agency != agency {
		return Session{}, Post{}, kernel.E(kernel.NotFound, "learning.error.no_session")
	}
	return ses, p, nil
}

// Roster returns the people booked at a session of the official's agency,
// recording the read of each person's booking in the data-use log.
func (s *Service) Roster(ctx context.Context, agency, sessionID string) (Session, []Seat, error) {
	ses, p, err := s.sessionOf(ctx, agency, sessionID)
	if err != nil {
		return Session{}, nil, err
	}
	var seats []Seat
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT s.person, s.booked_at, s.attended_at, CASE WHEN t.person IS NULL THEN 0 ELSE 1 END
			FROM learning_seats s LEFT JOIN learning_trained t ON t.person = s.person AND t.topic = ?
			WHERE s.session = ? ORDER BY s.booked_at, s.person`, ses.Topic, ses.ID)
		if err != nil {
			return kernel.Wrap(err, "learning: roster")
		}
		defer rows.Close()
		for rows.Next() {
			var st Seat
			var booked, attended int64
			var trained int
			if err := rows.Scan(&st.Person.CitizenID, &booked, &attended, &trained); err != nil {
				return kernel.Wrap(err, "learning: roster")
			}
			st.BookedAt, st.Attended, st.Trained = kernel.FromMicros(booked), attended != 0, trained == 1
			seats = append(seats, st)
		}
		return kernel.Wrap(rows.Err(), "learning: roster")
	})
	if err != nil {
		return Session{}, nil, err
	}
	for i := range seats {
		if person, err := s.o.People.Person(ctx, seats[i].Person.CitizenID); err == nil {
			seats[i].Person = person
		}
	}
	if len(seats) > 0 {
		err = s.o.DB.Batch(ctx, s.now(), func(tx *db.Tx) error {
			for _, st := range seats {
				if err := s.o.UseLog.Record(ctx, tx, kernel.DataUse{Subject: st.Person.CitizenID, Agency: agency, ReaderName: p.AgencyName,
					Channel: "learning.session", Service: "roster", Fields: []string{"full_name", "booking", "attendance"},
					Purpose: "education.community_class", CaseRef: "session:" + ses.ID}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return ses, seats, err
}

// RegisterPerson books a person at a session at the desk: someone without
// a phone or an account, found in the population registry.
func (s *Service) RegisterPerson(ctx context.Context, agency, sessionID, citizenID string) error {
	ses, _, err := s.sessionOf(ctx, agency, sessionID)
	if err != nil {
		return err
	}
	if _, err := registry.ParseCitizenID(citizenID); err != nil {
		return err
	}
	if _, err := s.o.People.Person(ctx, citizenID); err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if err := book(ctx, tx, ses.ID, citizenID, kernel.ActorFrom(ctx).ID); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.session.register", SubjectType: "session", SubjectID: ses.ID,
			Details: map[string]any{"agency": agency}})
	})
}

// RecordAttendance records that a booked person came to a session (or,
// with attended false, that they did not after all).
func (s *Service) RecordAttendance(ctx context.Context, agency, sessionID, citizenID string, attended bool) error {
	ses, _, err := s.sessionOf(ctx, agency, sessionID)
	if err != nil {
		return err
	}
	if attended && s.now().Before(ses.StartsAt.Add(-time.Hour)) {
		return kernel.E(kernel.Invalid, "learning.error.session_not_started")
	}
	person, err := s.o.People.Person(ctx, citizenID)
	if err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		var res interface{ RowsAffected() (int64, error) }
		var err error
		if attended {
			res, err = tx.Exec(ctx, `UPDATE learning_seats SET attended_at = ? WHERE session = ? AND person = ? AND attended_at = 0`,
				kernel.Micros(tx.Now), ses.ID, citizenID)
		} else {
			// Undone the same day only, so that the day's figure and a
			// recount from the seats agree.
			var at int64
			if err := tx.QueryRow(ctx, `SELECT attended_at FROM learning_seats WHERE session = ? AND person = ?`, ses.ID, citizenID).Scan(&at); err != nil {
				return notFound(err, "learning.error.not_booked", "seat")
			}
			if at != 0 && tally.Day(kernel.FromMicros(at)) != tally.Day(tx.Now) {
				return kernel.E(kernel.Conflict, "learning.error.attendance_fixed")
			}
			res, err = tx.Exec(ctx, `UPDATE learning_seats SET attended_at = 0 WHERE session = ? AND person = ? AND attended_at <> 0`, ses.ID, citizenID)
		}
		if err != nil {
			return kernel.Wrap(err, "learning: attendance")
		}
		n, _ := res.RowsAffected()
		if n == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM learning_seats WHERE session = ? AND person = ?`, ses.ID, citizenID).Scan(&one); err != nil {
				return notFound(err, "learning.error.not_booked", "seat")
			}
			return nil // as recorded already
		}
		delta := int64(1)
		if !attended {
			delta = -1
		}
		tally.Add(ctx, tx, "learning.attendances", person.UnitCode, delta)
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.session.attendance", SubjectType: "session", SubjectID: ses.ID,
			Details: map[string]any{"attended": attended}})
	})
}

// MarkTrained records that an officer judged a person trained in a topic
// (a course's, or basic digital skills), in a session of theirs or at the
// desk (sessionID "").
func (s *Service) MarkTrained(ctx context.Context, agency, citizenID, topic, sessionID string) error {
	p, err := s.trainer(ctx, agency)
	if err != nil {
		return err
	}
	if sessionID != "" {
		ses, _, err := s.sessionOf(ctx, agency, sessionID)
		if err != nil {
			return err
		}
		topic = ses.Topic
	}
	if topic == "" {
		topic = TopicBasic
	}
	if _, err := registry.ParseCitizenID(citizenID); err != nil {
		return err
	}
	person, err := s.o.People.Person(ctx, citizenID)
	if err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if topic != TopicBasic {
			if _, err := findCourse(ctx, tx, topic); err != nil {
				return err
			}
		}
		res, err := tx.Exec(ctx, `INSERT INTO learning_trained (person, topic, unit, agency, session, marked_by, marked_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (person, topic) DO NOTHING`, citizenID, topic, person.UnitCode, p.AgencyCode, sessionID, kernel.ActorFrom(ctx).ID, kernel.Micros(tx.Now))
		if err != nil {
			return kernel.Wrap(err, "learning: mark trained")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kernel.E(kernel.Conflict, "learning.error.already_trained")
		}
		tally.Add(ctx, tx, "learning.trained", person.UnitCode, 1)
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.trained", SubjectType: "person", SubjectID: citizenID,
			Details: map[string]any{"topic": topic, "agency": p.AgencyCode, "session": sessionID}})
	})
}
