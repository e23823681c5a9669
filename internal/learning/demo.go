package learning

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// DemoOptions say whom the demo's progress is for.
type DemoOptions struct {
	// Learners are the demo's young people (by citizen ID); the first of
	// them, in citizen-ID order, get progress. Nil: the population
	// registry's people of 14 to 17.
	Learners []registry.Person
	// Seed makes the same progress every time.
	Seed uint64
	// Count is how many learners get progress (default 24).
	Count int
}

// DemoStats count what SeedDemo made.
type DemoStats struct {
	Enrolled, Passed, Assigned int
}

// SeedDemo gives the demo province learners with progress: enrolled,
// lessons read, lesson quizzes taken, and some who passed a course (with
// its certificate). The same options give the same progress (which
// questions are drawn is random, as for everyone). It does nothing when
// anyone is enrolled already.
func (s *Service) SeedDemo(ctx context.Context, o DemoOptions) (DemoStats, error) {
	var st DemoStats
	var n int
	if err := s.o.DB.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM learning_enrolments LIMIT 1) t`).Scan(&n); err != nil {
		return st, kernel.Wrap(err, "learning: demo")
	}
	if n > 0 {
		return st, nil
	}
	ctx = kernel.WithActor(ctx, kernel.System("demo"))
	if o.Count <= 0 {
		o.Count = 24
	}
	learners := slices.Clone(o.Learners)
	if learners == nil {
		var err error
		if learners, err = s.youngPeople(ctx, o.Count); err != nil {
			return st, err
		}
	}
	slices.SortFunc(learners, func(a, b registry.Person) int { return compare(a.CitizenID, b.CitizenID) })
	if len(learners) > o.Count {
		learners = learners[:o.Count]
	}
	// Courses set to the first classes of the registry, when it has them.
	if s.o.Schools != nil {
		seen := map[string]bool{}
		for _, p := range learners {
			c, err := s.o.Schools.StudentClass(ctx, p.CitizenID)
			if err != nil || seen[c.ID] || len(seen) >= 3 {
				continue
			}
			seen[c.ID] = true
			if err := s.assignAsSystem(ctx, c, "traffic-safety", s.now().AddDate(0, 1, 0)); err != nil {
				return st, err
			}
			st.Assigned++
		}
	}
	r := rand.New(rand.NewPCG(o.Seed, 99))
	courses := []string{"traffic-safety", "online-safety", "eid-wallet-signature"}
	for i, p := range learners {
		course := courses[i%len(courses)]
		_, lessons, err := s.Course(ctx, course)
		if err != nil {
			return st, err
		}
		// A third finish, a third read half, a third read all and practise.
		read := len(lessons)
		switch i % 3 {
		case 1:
			read = len(lessons) / 2
		}
		for _, l := range lessons[:read] {
			if err := s.MarkRead(ctx, p.CitizenID, course, l.Slug); err != nil {
				return st, err
			}
		}
		st.Enrolled++
		if read == 0 {
			continue
		}
		quiz, err := s.StartAttempt(ctx, p.CitizenID, course, lessons[0].Slug)
		if err != nil {
			return st, err
		}
		if _, err := s.SubmitAttempt(ctx, quiz, s.demoAnswers(ctx, quiz, r, 0.6+0.4*r.Float64())); err != nil {
			return st, err
		}
		if i%3 == 0 {
			id, err := s.StartAttempt(ctx, p.CitizenID, course, FinalQuiz)
			if err != nil {
				return st, err
			}
			sub, err := s.SubmitAttempt(ctx, id, s.demoAnswers(ctx, id, r, 1))
			if err != nil {
				return st, err
			}
			if sub.Completed {
				st.Passed++
			}
		}
	}
	return st, nil
}

// youngPeople are the first people aged 14 to 17 by citizen ID.
func (s *Service) youngPeople(ctx context.Context, n int) ([]registry.Person, error) {
	today := s.now().In(kernel.Zone())
	rows, err := s.o.DB.Query(ctx, `SELECT citizen_id FROM persons WHERE birth_date > ? AND birth_date <= ? ORDER BY citizen_id LIMIT ?`,
		today.AddDate(-18, 0, 0).Format(registry.DateLayout), today.AddDate(-14, 0, 0).Format(registry.DateLayout), n)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: demo learners")
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, kernel.Wrap(err, "learning: demo learners")
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []registry.Person
	for _, id := range ids {
		p, err := s.o.People.Person(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// assignAsSystem sets a course to a class for the demo.
func (s *Service) assignAsSystem(ctx context.Context, c Class, course string, deadline time.Time) error {
	return s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO learning_assignments (id, course, school, class, deadline, assigned_by, assigned_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (class, course) DO NOTHING`, kernel.NewID(), course, c.SchoolCode, c.ID, kernel.Micros(deadline), "demo", kernel.Micros(tx.Now))
		return err
	})
}

// demoAnswers answers an attempt's questions right with probability p.
func (s *Service) demoAnswers(ctx context.Context, id string, r *rand.Rand, p float64) Answers {
	a, err := s.loadAttempt(ctx, id)
	if err != nil {
		return Answers{}
	}
	form := Answers{}
	for i, it := range a.Items {
		if r.Float64() > p {
			continue
		}
		key := "a" + strconv.Itoa(i+1)
		for k, v := range rightForm(it, key) {
			form[k] = v
		}
	}
	return form
}

// rightForm is the form fields that answer an item right.
func rightForm(it item, key string) Answers {
	form := Answers{}
	switch it.Q.Kind {
	case KindChoice, KindMulti:
		best := 0.0
		for _, c := range it.Q.Choices {
			best = max(best, c.Fraction)
		}
		for pos, idx := range it.Order {
			c := it.Q.Choices[idx]
			if it.Q.Kind == KindChoice && c.Fraction == best {
				form[key] = []string{strconv.Itoa(pos)}
				break
			}
			if it.Q.Kind == KindMulti && c.Fraction > 0 {
				form[key] = append(form[key], strconv.Itoa(pos))
			}
		}
	case KindTrueFalse:
		form[key] = []string{strconv.FormatBool(it.Q.Truth)}
	case KindShort, KindNumerical:
		for _, ans := range it.Q.Answers {
			if ans.Fraction >= 0.9999 {
				if it.Q.Kind == KindShort {
					form[key] = []string{ans.Text}
				} else {
					form[key] = []string{strconv.FormatFloat(ans.Value, 'f', -1, 64)}
				}
				break
			}
		}
	case KindMatching:
		opts := matchOptions(it.Q)
		k := 0
		for _, pr := range it.Q.Pairs {
			if pr.Sub == "" {
				continue
			}
			k++
			for pos, idx := range it.Order {
				if opts[idx] == pr.Answer {
					form[key+"."+strconv.Itoa(k)] = []string{strconv.Itoa(pos)}
				}
			}
		}
	}
	return form
}
