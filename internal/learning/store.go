package learning

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// notFound turns "no rows" into a NotFound error with key; other errors
// are internal.
func notFound(err error, key, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return kernel.E(kernel.NotFound, key)
	}
	return kernel.Wrap(err, "learning: read %s", what)
}

const courseColumns = `code, titles, summaries, area, competence, level, duration, pass_mark, final_attempts, quiz_size, final_size,
	lessons, questions, hash, source, updated_at`

func scanCourse(sc interface{ Scan(...any) error }) (CourseInfo, error) {
	var c CourseInfo
	var titles, summaries string
	var updated int64
	err := sc.Scan(&c.Code, &titles, &summaries, &c.Area, &c.Competence, &c.Level, &c.Duration, &c.PassMark, &c.FinalAttempts,
		&c.QuizSize, &c.FinalSize, &c.Lessons, &c.Questions, &c.Hash, &c.Source, &updated)
	if err != nil {
		return c, err
	}
	c.UpdatedAt = kernel.FromMicros(updated)
	if err := json.Unmarshal([]byte(titles), &c.Titles); err != nil {
		return c, err
	}
	err = json.Unmarshal([]byte(summaries), &c.Summaries)
	return c, err
}

func findCourse(ctx context.Context, tx *db.Tx, code string) (CourseInfo, error) {
	c, err := scanCourse(tx.QueryRow(ctx, `SELECT `+courseColumns+` FROM learning_courses WHERE code = ?`, code))
	if err != nil {
		return c, notFound(err, "learning.error.no_course", "course")
	}
	return c, nil
}

func listCourses(ctx context.Context, tx *db.Tx) ([]CourseInfo, error) {
	rows, err := tx.Query(ctx, `SELECT `+courseColumns+` FROM learning_courses ORDER BY code`)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: courses")
	}
	defer rows.Close()
	var out []CourseInfo
	for rows.Next() {
		c, err := scanCourse(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "learning: courses")
		}
		out = append(out, c)
	}
	return out, kernel.Wrap(rows.Err(), "learning: courses")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings and our own structs
	}
	return string(b)
}

// replaceCourse writes a loaded course over the stored one.
func replaceCourse(ctx context.Context, tx *db.Tx, c *Course, source string) error {
	wrap := func(err error) error { return kernel.Wrap(err, "learning: import course %s", c.Code) }
	if _, err := tx.Exec(ctx, `INSERT INTO learning_courses (`+courseColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET titles = excluded.titles, summaries = excluded.summaries, area = excluded.area,
		competence = excluded.competence, level = excluded.level, duration = excluded.duration, pass_mark = excluded.pass_mark,
		final_attempts = excluded.final_attempts, quiz_size = excluded.quiz_size, final_size = excluded.final_size,
		lessons = excluded.lessons, questions = excluded.questions, hash = excluded.hash, source = excluded.source,
		updated_at = excluded.updated_at`,
		c.Code, mustJSON(c.Titles), mustJSON(c.Summaries), c.Area, c.Competence, c.Level, c.Duration, c.PassMark, c.FinalAttempts,
		c.QuizSize, c.FinalSize, len(c.Lessons), len(c.Questions), c.Hash, source, kernel.Micros(tx.Now)); err != nil {
		return wrap(err)
	}
	for _, q := range []string{`DELETE FROM learning_lessons WHERE course = ?`, `DELETE FROM learning_lesson_texts WHERE course = ?`,
		`DELETE FROM learning_images WHERE course = ?`} {
		if _, err := tx.Exec(ctx, q, c.Code); err != nil {
			return wrap(err)
		}
	}
	for i, l := range c.Lessons {
		if _, err := tx.Exec(ctx, `INSERT INTO learning_lessons (course, slug, seq, competence, duration, titles) VALUES (?, ?, ?, ?, ?, ?)`,
			c.Code, l.Slug, i+1, l.Competence, l.Duration, mustJSON(l.Titles)); err != nil {
			return wrap(err)
		}
		for _, t := range l.Texts {
			if _, err := tx.Exec(ctx, `INSERT INTO learning_lesson_texts (course, slug, lang, lang_name, title, body) VALUES (?, ?, ?, ?, ?, ?)`,
				c.Code, l.Slug, t.Lang, t.LangName, t.Title, t.HTML); err != nil {
				return wrap(err)
			}
		}
	}
	for _, img := range c.Images {
		sum := sha256.Sum256(img.Data)
		if _, err := tx.Exec(ctx, `INSERT INTO learning_images (course, name, content_type, data, etag) VALUES (?, ?, ?, ?, ?)`,
			c.Code, img.Name, img.ContentType, img.Data, `"`+hex.EncodeToString(sum[:12])+`"`); err != nil {
			return wrap(err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE learning_questions SET retired = 1 WHERE course = ?`, c.Code); err != nil {
		return wrap(err)
	}
	return upsertQuestions(ctx, tx, c.Code, c.Questions)
}

// replaceBank retires a bank's questions and writes its new ones.
func replaceBank(ctx context.Context, tx *db.Tx, code, bank string, qs []Question) error {
	if _, err := tx.Exec(ctx, `UPDATE learning_questions SET retired = 1 WHERE course = ? AND bank = ?`, code, bank); err != nil {
		return kernel.Wrap(err, "learning: replace bank")
	}
	return upsertQuestions(ctx, tx, code, qs)
}

func upsertQuestions(ctx context.Context, tx *db.Tx, code string, qs []Question) error {
	for i, q := range qs {
		if _, err := tx.Exec(ctx, `INSERT INTO learning_questions (course, id, bank, seq, competence, retired, data) VALUES (?, ?, ?, ?, ?, 0, ?)
			ON CONFLICT (course, id) DO UPDATE SET bank = excluded.bank, seq = excluded.seq, competence = excluded.competence,
			retired = 0, data = excluded.data`, code, q.ID, q.Bank, i, q.Competence, mustJSON(q)); err != nil {
			return kernel.Wrap(err, "learning: write question")
		}
	}
	return nil
}

func countQuestions(ctx context.Context, tx *db.Tx, code string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM learning_questions WHERE course = ? AND retired = 0`, code).Scan(&n)
	return n, kernel.Wrap(err, "learning: count questions")
}

// findQuestions returns the live questions of a course's bank, or of every
// bank when bank is "".
func findQuestions(ctx context.Context, tx *db.Tx, code, bank string) ([]Question, error) {
	q := `SELECT data FROM learning_questions WHERE course = ? AND retired = 0`
	args := []any{code}
	if bank != "" {
		q += ` AND bank = ?`
		args = append(args, bank)
	}
	rows, err := tx.Query(ctx, q+` ORDER BY bank, seq`, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: questions")
	}
	defer rows.Close()
	var out []Question
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, kernel.Wrap(err, "learning: questions")
		}
		var qu Question
		if err := json.Unmarshal([]byte(data), &qu); err != nil {
			return nil, kernel.Wrap(err, "learning: question")
		}
		out = append(out, qu)
	}
	return out, kernel.Wrap(rows.Err(), "learning: questions")
}

func findLessons(ctx context.Context, tx *db.Tx, code string) ([]LessonInfo, error) {
	rows, err := tx.Query(ctx, `SELECT slug, seq, competence, duration, titles FROM learning_lessons WHERE course = ? ORDER BY seq`, code)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: lessons")
	}
	var out []LessonInfo
	for rows.Next() {
		var l LessonInfo
		var titles string
		if err := rows.Scan(&l.Slug, &l.Seq, &l.Competence, &l.Duration, &titles); err != nil {
			rows.Close()
			return nil, kernel.Wrap(err, "learning: lessons")
		}
		if err := json.Unmarshal([]byte(titles), &l.Titles); err != nil {
			rows.Close()
			return nil, kernel.Wrap(err, "learning: lessons")
		}
		out = append(out, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "learning: lessons")
	}
	langs, err := tx.Query(ctx, `SELECT slug, lang, lang_name FROM learning_lesson_texts WHERE course = ?`, code)
	if err != nil {
		return nil, kernel.Wrap(err, "learning: lesson languages")
	}
	defer langs.Close()
	for langs.Next() {
		var slug string
		var li LangInfo
		if err := langs.Scan(&slug, &li.Code, &li.Name); err != nil {
			return nil, kernel.Wrap(err, "learning: lesson languages")
		}
		for i := range out {
			if out[i].Slug == slug {
				out[i].Langs = append(out[i].Langs, li)
			}
		}
	}
	for i := range out {
		ls := out[i].Langs
		for a := 1; a < len(ls); a++ {
			for b := a; b > 0 && (langRank(ls[b].Code) < langRank(ls[b-1].Code) ||
				langRank(ls[b].Code) == langRank(ls[b-1].Code) && ls[b].Code < ls[b-1].Code); b-- {
				ls[b], ls[b-1] = ls[b-1], ls[b]
			}
		}
	}
	return out, kernel.Wrap(langs.Err(), "learning: lesson languages")
}

func findLessonText(ctx context.Context, tx *db.Tx, code, slug, lang string) (LessonText, error) {
	t := LessonText{Lang: lang}
	err := tx.QueryRow(ctx, `SELECT lang_name, title, body FROM learning_lesson_texts WHERE course = ? AND slug = ? AND lang = ?`,
		code, slug, lang).Scan(&t.LangName, &t.Title, &t.HTML)
	if err != nil {
		return t, notFound(err, "learning.error.no_lesson", "lesson")
	}
	return t, nil
}
