package learning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Sources of a course.
const (
	SourceBuiltin = "builtin" // shipped in the binary: upgraded at start when it changes
	SourceImport  = "import"  // imported by an operator: never overwritten by a shipped one
)

// CourseInfo is a course as stored.
type CourseInfo struct {
	Code          string
	Titles        map[string]string
	Summaries     map[string]string
	Area          string
	Competence    string
	Level         int
	Duration      int
	PassMark      int
	FinalAttempts int
	QuizSize      int
	FinalSize     int
	Lessons       int
	Questions     int
	Hash          string
	Source        string
	UpdatedAt     time.Time
}

// Title is the course's title in lang, Vietnamese when it has none.
func (c CourseInfo) Title(lang string) string { return pick(c.Titles, lang) }

// Summary is the course's summary in lang, Vietnamese when it has none.
func (c CourseInfo) Summary(lang string) string { return pick(c.Summaries, lang) }

func pick(m map[string]string, lang string) string {
	if v := m[lang]; v != "" {
		return v
	}
	if v := m[defaultLanguage]; v != "" {
		return v
	}
	for _, v := range m {
		return v
	}
	return ""
}

// LessonInfo is a lesson as stored.
type LessonInfo struct {
	Slug       string
	Seq        int
	Competence string
	Duration   int
	Titles     map[string]string
	Langs      []LangInfo // the languages it is written in, Vietnamese first
}

// Title is the lesson's title in lang, Vietnamese when it has none.
func (l LessonInfo) Title(lang string) string { return pick(l.Titles, lang) }

// LangInfo is a language a lesson is written in.
type LangInfo struct {
	Code string
	Name string // the language's own name when the interface does not have it
}

// Imported says what an import did.
type Imported struct {
	Code      string
	Lessons   int
	Questions int
	Unchanged bool      // the same content was there already
	Kept      bool      // a shipped course left alone: an operator's import is there
	Warnings  []Warning // what GIFT banks left out
}

// ImportCourse loads a course folder into the database, replacing the
// course of the same code: its lessons, images and banks (questions no
// longer in a bank are retired, kept for the attempts that drew them).
// A shipped course (SourceBuiltin) does not replace an operator's import.
func (s *Service) ImportCourse(ctx context.Context, fsys fs.FS, source string) (Imported, error) {
	files, err := readCourseFiles(fsys)
	if err != nil {
		return Imported{}, err
	}
	// The same files as stored: nothing to render (every start of serve).
	if old, err := s.courseHash(ctx, files.meta.Code); err == nil && old.Hash == files.hash {
		return Imported{Code: old.Code, Lessons: old.Lessons, Questions: old.Questions, Unchanged: true}, nil
	}
	c, warnings, err := files.parse()
	if err != nil {
		return Imported{}, err
	}
	out := Imported{Code: c.Code, Lessons: len(c.Lessons), Questions: len(c.Questions), Warnings: warnings}
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		old, err := findCourse(ctx, tx, c.Code)
		switch {
		case kernel.ErrorCode(err) == kernel.NotFound:
		case err != nil:
			return err
		case old.Hash == c.Hash:
			out.Unchanged = true
			return nil
		case source == SourceBuiltin && old.Source == SourceImport:
			out.Kept = true
			return nil
		}
		if err := replaceCourse(ctx, tx, c, source); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.course.import", SubjectType: "course", SubjectID: c.Code,
			Details: map[string]any{"lessons": len(c.Lessons), "questions": len(c.Questions), "source": source, "hash": c.Hash}})
	})
	return out, err
}

// courseHash reads a stored course's counts and hash.
func (s *Service) courseHash(ctx context.Context, code string) (CourseInfo, error) {
	c := CourseInfo{Code: code}
	err := s.o.DB.QueryRow(ctx, `SELECT lessons, questions, hash FROM learning_courses WHERE code = ?`, code).Scan(&c.Lessons, &c.Questions, &c.Hash)
	if err != nil {
		return c, notFound(err, "learning.error.no_course", "course")
	}
	return c, nil
}

// EnsureBuiltin loads the shipped courses: new ones, and changed ones that
// no operator replaced.
func (s *Service) EnsureBuiltin(ctx context.Context) error {
	folders, err := BuiltinCourses()
	if err != nil {
		return kernel.Wrap(err, "learning: shipped courses")
	}
	for _, f := range folders {
		if _, err := s.ImportCourse(ctx, f, SourceBuiltin); err != nil {
			return err
		}
	}
	return nil
}

// ImportGIFT replaces one bank of a course with the questions of a GIFT
// file. A bank named as a lesson is that lesson's quiz; every bank feeds
// the final test. The course becomes an operator's (never replaced by a
// shipped version).
func (s *Service) ImportGIFT(ctx context.Context, code, bank string, src []byte) (Imported, error) {
	if !bankNameRE.MatchString(bank+".gift") || bank == finalBank {
		return Imported{}, kernel.E(kernel.Invalid, "learning.error.bad_bank", bank)
	}
	g, err := ParseGIFT(src, bank)
	if err != nil {
		return Imported{}, err
	}
	out := Imported{Code: code, Warnings: g.Warnings}
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		c, err := findCourse(ctx, tx, code)
		if err != nil {
			return err
		}
		lessons, err := findLessons(ctx, tx, code)
		if err != nil {
			return err
		}
		comp := c.Competence
		for _, l := range lessons {
			if l.Slug == bank {
				comp = l.Competence
			}
		}
		qs := make([]Question, len(g.Questions))
		for i, q := range g.Questions {
			q.Bank, q.Competence = bank, comp
			q.identify(code)
			qs[i] = q
		}
		if err := replaceBank(ctx, tx, code, bank, qs); err != nil {
			return err
		}
		n, err := countQuestions(ctx, tx, code)
		if err != nil {
			return err
		}
		if n < c.FinalSize {
			return kernel.E(kernel.Invalid, "learning.error.too_few_questions", n, c.FinalSize)
		}
		sum := sha256.Sum256(append([]byte(c.Hash+"\x00"+bank+"\x00"), src...))
		if _, err := tx.Exec(ctx, `UPDATE learning_courses SET questions = ?, hash = ?, source = ?, updated_at = ? WHERE code = ?`,
			n, hex.EncodeToString(sum[:]), SourceImport, kernel.Micros(tx.Now), code); err != nil {
			return kernel.Wrap(err, "learning: import gift")
		}
		out.Lessons, out.Questions = len(lessons), n
		return audit.Queue(ctx, tx, audit.Entry{Action: "learning.bank.import", SubjectType: "course", SubjectID: code,
			Details: map[string]any{"bank": bank, "questions": len(qs)}})
	})
	return out, err
}

// Courses lists the courses, by code.
func (s *Service) Courses(ctx context.Context) ([]CourseInfo, error) {
	var out []CourseInfo
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = listCourses(ctx, tx)
		return err
	})
	return out, err
}

// Course returns a course and its lessons.
func (s *Service) Course(ctx context.Context, code string) (CourseInfo, []LessonInfo, error) {
	var c CourseInfo
	var ls []LessonInfo
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		if c, err = findCourse(ctx, tx, code); err != nil {
			return err
		}
		ls, err = findLessons(ctx, tx, code)
		return err
	})
	return c, ls, err
}

// LessonText is a lesson in one language: lang when the lesson has it,
// else Vietnamese.
func (s *Service) LessonText(ctx context.Context, code, slug, lang string) (LessonText, error) {
	var t LessonText
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		t, err = findLessonText(ctx, tx, code, slug, lang)
		if kernel.ErrorCode(err) == kernel.NotFound && lang != defaultLanguage {
			t, err = findLessonText(ctx, tx, code, slug, defaultLanguage)
		}
		return err
	})
	return t, err
}

// Image returns a course's image.
func (s *Service) Image(ctx context.Context, code, name string) (Image, string, error) {
	var img Image
	var etag string
	err := s.o.DB.QueryRow(ctx, `SELECT name, content_type, data, etag FROM learning_images WHERE course = ? AND name = ?`, code, name).
		Scan(&img.Name, &img.ContentType, &img.Data, &etag)
	if err != nil {
		return Image{}, "", notFound(err, "learning.error.no_image", "image")
	}
	return img, etag, nil
}
