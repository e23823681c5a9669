package learning

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// FinalQuiz names the final test of a course among its quizzes.
const FinalQuiz = finalBank

// item is a question as an attempt drew it: the question (what scores it
// stays on the server) and the order its choices are shown in. The
// attempt stores the question's ID, which is a hash of its content: the
// bank keeps every version a question had (retired, never deleted), so
// the ID names exactly the question drawn.
type item struct {
	ID    string   `json:"id"`
	Order []int    `json:"o,omitempty"` // choice, multi: shown position -> Choices index; matching: -> matchOptions index
	Q     Question `json:"-"`
}

// outcome is a scored item as stored.
type outcome struct {
	Fraction float64  `json:"f"`
	Feedback []string `json:"fb,omitempty"`
	Given    []string `json:"given,omitempty"` // what the learner answered, as text, for the review
}

// newRand is a generator seeded from the system's randomness: which
// questions are drawn must not be predictable.
func newRand() *rand.Rand {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return rand.New(rand.NewChaCha8(seed))
}

// draw picks n questions: from one bank, or for the final test from every
// bank in turn so that each lesson's competence is asked.
func draw(r *rand.Rand, qs []Question, n int, final bool) []Question {
	if !final {
		r.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
		return qs[:min(n, len(qs))]
	}
	byBank := map[string][]Question{}
	var banks []string
	for _, q := range qs {
		if _, ok := byBank[q.Bank]; !ok {
			banks = append(banks, q.Bank)
		}
		byBank[q.Bank] = append(byBank[q.Bank], q)
	}
	r.Shuffle(len(banks), func(i, j int) { banks[i], banks[j] = banks[j], banks[i] })
	for _, b := range banks {
		bq := byBank[b]
		r.Shuffle(len(bq), func(i, j int) { bq[i], bq[j] = bq[j], bq[i] })
	}
	var out []Question
	for round := 0; len(out) < n; round++ {
		added := false
		for _, b := range banks {
			if round < len(byBank[b]) && len(out) < n {
				out = append(out, byBank[b][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func newItem(r *rand.Rand, q Question) item {
	it := item{ID: q.ID, Q: q}
	switch q.Kind {
	case KindChoice, KindMulti:
		it.Order = r.Perm(len(q.Choices))
	case KindMatching:
		it.Order = r.Perm(len(matchOptions(q)))
	}
	return it
}

// StartAttempt starts an attempt at a quiz of a course — a lesson's quiz
// or the final test — drawing its questions at random, and returns its ID.
// An attempt started and not submitted is returned instead of a new one.
// The final test needs every lesson read, is refused past the learner's
// deadline, once passed, and beyond the course's number of attempts:
// starting one counts.
func (s *Service) StartAttempt(ctx context.Context, learner, course, quiz string) (string, error) {
	if err := s.actsFor(ctx, learner); err != nil {
		return "", err
	}
	pl, err := s.placementOf(ctx, learner)
	if err != nil {
		return "", err
	}
	final := quiz == FinalQuiz
	if final {
		d, err := s.deadline(ctx, learner, course)
		if err != nil {
			return "", err
		}
		if !d.IsZero() && s.now().After(d) {
			return "", kernel.E(kernel.Forbidden, "learning.error.deadline_passed")
		}
	}
	var id string
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		c, err := findCourse(ctx, tx, course)
		if err != nil {
			return err
		}
		lessons, err := findLessons(ctx, tx, course)
		if err != nil {
			return err
		}
		size := c.QuizSize
		if final {
			size = c.FinalSize
		} else if !hasLesson(lessons, quiz) {
			return kernel.E(kernel.NotFound, "learning.error.no_quiz")
		}
		e, err := s.ensureEnrolment(ctx, tx, course, learner, pl)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT id FROM learning_attempts WHERE enrolment = ? AND quiz = ? AND submitted_at = 0 AND counted = 1
			ORDER BY started_at DESC LIMIT 1`, e.ID, quiz).Scan(&id)
		if err == nil {
			return nil // the one under way
		}
		if kernel.ErrorCode(notFound(err, "x", "attempt")) != kernel.NotFound {
			return kernel.Wrap(err, "learning: open attempt")
		}
		bank := quiz
		if final {
			if e.Passed() {
				return kernel.E(kernel.Conflict, "learning.error.already_passed")
			}
			if e.LessonsRead < len(lessons) {
				return kernel.E(kernel.Forbidden, "learning.error.read_first", len(lessons)-e.LessonsRead)
			}
			// Counted now, and only if under the limit: two tabs starting at
			// once cannot both take the last attempt.
			res, err := tx.Exec(ctx, `UPDATE learning_enrolments SET final_used = final_used + 1 WHERE id = ? AND final_used < ?`, e.ID, c.FinalAttempts)
			if err != nil {
				return kernel.Wrap(err, "learning: count attempt")
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return kernel.E(kernel.Forbidden, "learning.error.no_attempts_left", c.FinalAttempts)
			}
			bank = ""
		}
		qs, err := findQuestions(ctx, tx, course, bank)
		if err != nil {
			return err
		}
		if len(qs) == 0 {
			return kernel.E(kernel.NotFound, "learning.error.no_quiz")
		}
		r := newRand()
		drawn := draw(r, qs, size, final)
		items := make([]item, len(drawn))
		for i, q := range drawn {
			items[i] = newItem(r, q)
		}
		id = kernel.NewOrderedID(tx.Now)
		if _, err := tx.Exec(ctx, `INSERT INTO learning_attempts (id, enrolment, learner, course, quiz, started_at, items) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, e.ID, learner, course, quiz, kernel.Micros(tx.Now), mustJSON(items)); err != nil {
			return kernel.Wrap(err, "learning: start attempt")
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.attempt.start", SubjectType: "attempt", SubjectID: id,
			Details: map[string]any{"course": course, "quiz": quiz, "questions": len(items)}})
	})
	return id, err
}

func hasLesson(ls []LessonInfo, slug string) bool {
	for _, l := range ls {
		if l.Slug == slug {
			return true
		}
	}
	return false
}

// storedAttempt is an attempt row.
type storedAttempt struct {
	ID, Enrolment, Learner, Course, Quiz string
	StartedAt, SubmittedAt               time.Time
	Items                                []item
	Outcomes                             []outcome // recomputed from the responses once submitted
	Score                                int
	PassMark                             int // the course's, percent
	Passed, Counted                      bool
}

func (s *Service) loadAttempt(ctx context.Context, id string) (storedAttempt, error) {
	var a storedAttempt
	var started, submitted int64
	var items, responses string
	var passed, counted int
	err := s.o.DB.QueryRow(ctx, `SELECT a.id, a.enrolment, a.learner, a.course, a.quiz, a.started_at, a.submitted_at, a.items, a.responses,
		a.score, a.passed, a.counted, c.pass_mark FROM learning_attempts a JOIN learning_courses c ON c.code = a.course WHERE a.id = ?`, id).
		Scan(&a.ID, &a.Enrolment, &a.Learner, &a.Course, &a.Quiz, &started, &submitted, &items, &responses, &a.Score, &passed, &counted, &a.PassMark)
	if err != nil {
		return a, notFound(err, "learning.error.no_attempt", "attempt")
	}
	a.StartedAt = kernel.FromMicros(started)
	if submitted != 0 {
		a.SubmittedAt = kernel.FromMicros(submitted)
	}
	a.Passed, a.Counted = passed == 1, counted == 1
	if err := json.Unmarshal([]byte(items), &a.Items); err != nil {
		return a, kernel.Wrap(err, "learning: attempt items")
	}
	if err := s.fillQuestions(ctx, a.Course, a.Items); err != nil {
		return a, err
	}
	if responses != "" {
		var rs []Response
		if err := json.Unmarshal([]byte(responses), &rs); err != nil {
			return a, kernel.Wrap(err, "learning: attempt responses")
		}
		// The results are the responses scored again: scoring is
		// deterministic, and the attempt keeps the questions it drew.
		a.Outcomes = make([]outcome, len(a.Items))
		for i, it := range a.Items {
			if i < len(rs) {
				a.Outcomes[i] = outcomeOf(it, rs[i])
			}
		}
	}
	return a, nil
}

// outcomeOf scores an item's response and says what was answered.
func outcomeOf(it item, r Response) outcome {
	res := Score(it.Q, r)
	return outcome{Fraction: res.Fraction, Feedback: res.Feedback, Given: givenOf(it, r)}
}

// givenOf is what a response answered, as text, for the review.
func givenOf(it item, r Response) []string {
	var given []string
	switch it.Q.Kind {
	case KindChoice, KindMulti:
		for _, idx := range r.Choices {
			if idx >= 0 && idx < len(it.Q.Choices) {
				given = append(given, plainOf(it.Q.Choices[idx].Text))
			}
		}
	case KindTrueFalse:
		if r.Bool != nil {
			given = append(given, strconv.FormatBool(*r.Bool))
		}
	case KindShort, KindNumerical:
		if t := strings.TrimSpace(r.Text); t != "" {
			given = append(given, t)
		}
	case KindMatching:
		items := matchItems(it.Q)
		for k, m := range r.Matches {
			if m != "" && k < len(items) {
				given = append(given, plainOf(items[k])+" → "+m)
			}
		}
	}
	return given
}

// Option is a choice as a page shows it: its value is its position on the
// page, which says nothing about whether it is right.
type Option struct {
	Value string
	Text  string // HTML of a choice; plain text of a matching answer
	// After submission: whether the learner chose it, and its fraction.
	Chosen bool
	Right  bool
}

// ItemView is a question as a page shows it. Before submission it has
// nothing that tells the answer: the text, the choices in their drawn
// order, the matching items and answers. After submission it has the
// result, the feedback and, where the course allows, the right answer.
type ItemView struct {
	N       int // from 1
	Kind    Kind
	Text    string   // HTML
	Options []Option // choice, multi, truefalse; matching: the answers each item offers
	Items   []string // matching: the items (HTML)
	// After submission.
	Scored   bool
	Fraction float64
	Feedback []string // HTML
	Given    []string // what the learner answered, as text
	Right    []string // the right answer, as text; empty when not shown
}

// AttemptView is an attempt as its page shows it.
type AttemptView struct {
	ID          string
	Course      string
	Quiz        string
	Learner     string
	StartedAt   time.Time
	SubmittedAt time.Time // zero while under way
	Score       int       // per mille, after submission
	Passed      bool
	PassMark    int // percent
	Items       []ItemView
}

// Submitted reports whether the attempt was submitted.
func (a AttemptView) Submitted() bool { return !a.SubmittedAt.IsZero() }

// ViewAttempt returns an attempt for the learner (or their guardian). An
// attempt of anybody else is NotFound, as one that does not exist.
func (s *Service) ViewAttempt(ctx context.Context, id string) (AttemptView, error) {
	a, err := s.loadAttempt(ctx, id)
	if err != nil {
		return AttemptView{}, err
	}
	teacher := false
	if err := s.actsFor(ctx, a.Learner); err != nil {
		if kernel.ErrorCode(err) != kernel.Forbidden {
			return AttemptView{}, err
		}
		// The learner's teacher may read it; the read is logged.
		class, ok, terr := s.teacherOfLearner(ctx, a.Learner)
		if terr != nil {
			return AttemptView{}, terr
		}
		if !ok {
			return AttemptView{}, kernel.E(kernel.NotFound, "learning.error.no_attempt")
		}
		teacher = true
		if err := s.o.DB.Batch(ctx, s.now(), func(tx *db.Tx) error {
			return s.o.UseLog.Record(ctx, tx, kernel.DataUse{Subject: a.Learner, ReaderName: class.SchoolName + " – " + class.Name,
				Channel: "learning.class", Service: "attempt", Fields: []string{"answers", "score"}, Purpose: PurposeTeaching, CaseRef: "attempt:" + a.ID})
		}); err != nil {
			return AttemptView{}, err
		}
	}
	c, _, err := s.Course(ctx, a.Course)
	if err != nil {
		return AttemptView{}, err
	}
	// The right answers of the final test are shown once it is passed or
	// no attempt is left; those of a lesson's quiz (practice) always.
	showRight := a.Quiz != FinalQuiz || a.Passed || teacher
	if a.Quiz == FinalQuiz && !showRight {
		var used int
		if err := s.o.DB.QueryRow(ctx, `SELECT final_used FROM learning_enrolments WHERE id = ?`, a.Enrolment).Scan(&used); err != nil {
			return AttemptView{}, kernel.Wrap(err, "learning: attempt")
		}
		showRight = used >= c.FinalAttempts
	}
	return viewOf(a, c.PassMark, showRight), nil
}

func viewOf(a storedAttempt, passMark int, showRight bool) AttemptView {
	v := AttemptView{ID: a.ID, Course: a.Course, Quiz: a.Quiz, Learner: a.Learner, StartedAt: a.StartedAt, SubmittedAt: a.SubmittedAt,
		Score: a.Score, Passed: a.Passed, PassMark: passMark}
	submitted := !a.SubmittedAt.IsZero()
	for i, it := range a.Items {
		iv := ItemView{N: i + 1, Kind: it.Q.Kind, Text: it.Q.Text}
		var out outcome
		if submitted && i < len(a.Outcomes) {
			out = a.Outcomes[i]
			iv.Scored, iv.Fraction, iv.Feedback, iv.Given = true, out.Fraction, out.Feedback, out.Given
		}
		switch it.Q.Kind {
		case KindChoice, KindMulti:
			for pos, idx := range it.Order {
				if idx < 0 || idx >= len(it.Q.Choices) {
					continue
				}
				o := Option{Value: strconv.Itoa(pos), Text: it.Q.Choices[idx].Text}
				if submitted {
					o.Chosen = containsString(out.Given, plainOf(it.Q.Choices[idx].Text))
					o.Right = showRight && it.Q.Choices[idx].Fraction > 0
				}
				iv.Options = append(iv.Options, o)
			}
		case KindTrueFalse:
			iv.Options = []Option{{Value: "true"}, {Value: "false"}}
			if submitted && showRight {
				iv.Options[0].Right, iv.Options[1].Right = it.Q.Truth, !it.Q.Truth
			}
		case KindMatching:
			opts := matchOptions(it.Q)
			for pos, idx := range it.Order {
				if idx >= 0 && idx < len(opts) {
					iv.Options = append(iv.Options, Option{Value: strconv.Itoa(pos), Text: opts[idx]})
				}
			}
			iv.Items = matchItems(it.Q)
		}
		if submitted && showRight {
			iv.Right = rightAnswer(it.Q)
		}
		v.Items = append(v.Items, iv)
	}
	return v
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// rightAnswer is a question's right answer as text.
func rightAnswer(q Question) []string {
	var out []string
	switch q.Kind {
	case KindChoice:
		best := 0.0
		for _, c := range q.Choices {
			best = math.Max(best, c.Fraction)
		}
		for _, c := range q.Choices {
			if c.Fraction == best {
				out = append(out, plainOf(c.Text))
			}
		}
	case KindMulti:
		for _, c := range q.Choices {
			if c.Fraction > 0 {
				out = append(out, plainOf(c.Text))
			}
		}
	case KindTrueFalse:
		out = append(out, strconv.FormatBool(q.Truth))
	case KindShort:
		for _, a := range q.Answers {
			if a.Fraction >= 0.9999 {
				out = append(out, a.Text)
				break
			}
		}
	case KindNumerical:
		for _, a := range q.Answers {
			if a.Fraction >= 0.9999 {
				s := strconv.FormatFloat(a.Value, 'f', -1, 64)
				if a.Tolerance > 0 {
					s += " ± " + strconv.FormatFloat(a.Tolerance, 'f', -1, 64)
				}
				out = append(out, s)
				break
			}
		}
	case KindMatching:
		for _, p := range q.Pairs {
			if p.Sub != "" {
				out = append(out, plainOf(p.Sub)+" → "+p.Answer)
			}
		}
	}
	return out
}

// Answers are a submitted form: for the question at position i (from 1),
// the values of field "a<i>", and for matching item k, of "a<i>.<k>".
type Answers map[string][]string

// responseOf reads an item's answer from the form, mapping the positions
// the page showed back to the question's own answers. Anything that is not
// one of the positions shown counts as no answer.
func responseOf(it item, n int, form Answers) Response {
	key := "a" + strconv.Itoa(n)
	var r Response
	pos := func(v string) (int, bool) {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p >= len(it.Order) {
			return 0, false
		}
		return it.Order[p], true
	}
	switch it.Q.Kind {
	case KindChoice:
		if vs := form[key]; len(vs) == 1 {
			if idx, ok := pos(vs[0]); ok {
				r.Choices = []int{idx}
			}
		}
	case KindMulti:
		for _, v := range form[key] {
			if idx, ok := pos(v); ok && !containsInt(r.Choices, idx) && len(r.Choices) < len(it.Q.Choices) {
				r.Choices = append(r.Choices, idx)
			}
		}
	case KindTrueFalse:
		if vs := form[key]; len(vs) == 1 && (vs[0] == "true" || vs[0] == "false") {
			b := vs[0] == "true"
			r.Bool = &b
		}
	case KindShort, KindNumerical:
		if vs := form[key]; len(vs) == 1 {
			t := vs[0]
			if len(t) > 500 {
				t = t[:500]
			}
			r.Text = strings.ToValidUTF8(t, "")
		}
	case KindMatching:
		opts := matchOptions(it.Q)
		items := matchItems(it.Q)
		r.Matches = make([]string, len(items))
		for k := range items {
			if vs := form[key+"."+strconv.Itoa(k+1)]; len(vs) == 1 {
				if idx, ok := pos(vs[0]); ok && idx < len(opts) {
					r.Matches[k] = opts[idx]
				}
			}
		}
	}
	return r
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Submission is what submitting an attempt did.
type Submission struct {
	Score  int // per mille
	Passed bool
	// Completed: this attempt passed the final test (the course is done);
	// Certificate is the wallet document issued for it, "" when issuing
	// failed and will be retried.
	Completed   bool
	Certificate string
}

// SubmitAttempt scores an attempt from the learner's answers and stores
// it, once: a second submission is a Conflict. Passing the final test
// completes the course and issues its certificate.
func (s *Service) SubmitAttempt(ctx context.Context, id string, form Answers) (Submission, error) {
	a, err := s.loadAttempt(ctx, id)
	if err != nil {
		return Submission{}, err
	}
	if err := s.actsFor(ctx, a.Learner); err != nil {
		if kernel.ErrorCode(err) == kernel.Forbidden {
			return Submission{}, kernel.E(kernel.NotFound, "learning.error.no_attempt")
		}
		return Submission{}, err
	}
	if !a.SubmittedAt.IsZero() {
		return Submission{}, kernel.E(kernel.Conflict, "learning.error.submitted")
	}

	if !a.Counted {
		return Submission{}, kernel.E(kernel.Conflict, "learning.error.attempt_reset")
	}
	passMark := a.PassMark
	// Scored here, out of the writer's way; the write below checks the
	// attempt is still open.
	responses := make([]Response, len(a.Items))
	type comp struct{ n, points int }
	byComp := map[string]*comp{}
	total := 0.0
	for i, it := range a.Items {
		r := responseOf(it, i+1, form)
		res := Score(it.Q, r)
		responses[i] = r
		total += res.Fraction
		c := byComp[it.Q.Competence]
		if c == nil {
			c = &comp{}
			byComp[it.Q.Competence] = c
		}
		c.n++
		c.points += int(math.Round(res.Fraction * 1000))
	}
	score := 0
	if len(a.Items) > 0 {
		score = int(math.Round(total / float64(len(a.Items)) * 1000))
	}
	sub := Submission{Score: score, Passed: score >= passMark*10}
	final := a.Quiz == FinalQuiz
	var unit string
	err = s.o.DB.Batch(ctx, s.now(), func(tx *db.Tx) error {
		passed := 0
		if sub.Passed {
			passed = 1
		}
		res, err := tx.Exec(ctx, `UPDATE learning_attempts SET submitted_at = ?, responses = ?, score = ?, passed = ?
			WHERE id = ? AND submitted_at = 0 AND counted = 1`, kernel.Micros(tx.Now), mustJSON(responses), score, passed, a.ID)
		if err != nil {
			return kernel.Wrap(err, "learning: submit")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.Conflict, "learning.error.submitted")
		}
		if final {
			if sub.Passed {
				res, err := tx.Exec(ctx, `UPDATE learning_enrolments SET best = CASE WHEN best < ? THEN ? ELSE best END, passed_at = ?, cert_state = ?
					WHERE id = ? AND passed_at = 0`, score, score, kernel.Micros(tx.Now), CertPending, a.Enrolment)
				if err != nil {
					return kernel.Wrap(err, "learning: complete")
				}
				if n, _ := res.RowsAffected(); n == 1 {
					sub.Completed = true
					if err := tx.QueryRow(ctx, `SELECT unit FROM learning_enrolments WHERE id = ?`, a.Enrolment).Scan(&unit); err != nil {
						return kernel.Wrap(err, "learning: complete")
					}
					tally.Add(ctx, tx, "learning.completions", unit, 1)
				}
			} else if _, err := tx.Exec(ctx, `UPDATE learning_enrolments SET best = ? WHERE id = ? AND best < ?`, score, a.Enrolment, score); err != nil {
				return kernel.Wrap(err, "learning: best score")
			}
		}
		for code, c := range byComp {
			if code == "" {
				continue
			}
			level := MasteryNone
			err := tx.QueryRow(ctx, `SELECT level FROM learning_mastery WHERE learner = ? AND competence = ?`, a.Learner, code).Scan(&level)
			if err != nil && kernel.ErrorCode(notFound(err, "x", "mastery")) != kernel.NotFound {
				return kernel.Wrap(err, "learning: mastery")
			}
			level = nextMastery(level, float64(c.points)/float64(c.n*1000), final)
			if _, err := tx.Exec(ctx, `INSERT INTO learning_mastery (learner, competence, level, answered, points, updated_at) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (learner, competence) DO UPDATE SET level = excluded.level, answered = learning_mastery.answered + excluded.answered,
				points = learning_mastery.points + excluded.points, updated_at = excluded.updated_at`,
				a.Learner, code, level, c.n, c.points, kernel.Micros(tx.Now)); err != nil {
				return kernel.Wrap(err, "learning: mastery")
			}
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.attempt.submit", SubjectType: "attempt", SubjectID: a.ID,
			Details: map[string]any{"course": a.Course, "quiz": a.Quiz, "score": score, "passed": sub.Passed}})
	})
	if err != nil {
		return Submission{}, err
	}
	if sub.Completed {
		sub.Certificate, err = s.issueCertificate(ctx, a.Enrolment)
		if err != nil {
			// The course is passed all the same: the certificate job tries again.
			s.o.Logger.Warn("learning: certificate not issued; it will be retried", "enrolment", a.Enrolment, "error", err)
		}
	}
	return sub, nil
}

// questionCache keeps questions by course and ID. A question's ID is a
// hash of its content, so an entry is never stale; the cache is emptied
// when it grows past its bound.
type questionCache struct {
	mu sync.Mutex
	m  map[string]Question
}

const maxCachedQuestions = 20000

func (c *questionCache) get(key string) (Question, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.m[key]
	return q, ok
}

func (c *questionCache) put(key string, q Question) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedQuestions {
		c.m = make(map[string]Question, 256)
	}
	c.m[key] = q
}

// fillQuestions gives an attempt's items their questions, from the cache
// or the bank.
func (s *Service) fillQuestions(ctx context.Context, course string, items []item) error {
	var missing []any
	for i := range items {
		if q, ok := s.qcache.get(course + "/" + items[i].ID); ok {
			items[i].Q = q
		} else {
			missing = append(missing, items[i].ID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := s.o.DB.Query(ctx, `SELECT data FROM learning_questions WHERE course = ? AND id IN (`+placeholders(len(missing))+`)`,
		append([]any{course}, missing...)...)
	if err != nil {
		return kernel.Wrap(err, "learning: attempt questions")
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return kernel.Wrap(err, "learning: attempt questions")
		}
		var q Question
		if err := json.Unmarshal([]byte(data), &q); err != nil {
			return kernel.Wrap(err, "learning: attempt question")
		}
		s.qcache.put(course+"/"+q.ID, q)
		for i := range items {
			if items[i].ID == q.ID {
				items[i].Q = q
			}
		}
	}
	if err := rows.Err(); err != nil {
		return kernel.Wrap(err, "learning: attempt questions")
	}
	for _, it := range items {
		if it.Q.ID == "" {
			return kernel.Wrap(fmt.Errorf("question %s of course %s is not in its bank", it.ID, course), "learning: attempt questions")
		}
	}
	return nil
}
