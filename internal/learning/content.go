package learning

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"civitas/internal/kernel"
)

// A course is a folder, so that a new course needs no code:
//
//	course.md                 front matter only: code, titles (vi, en, ar), summaries,
//	                          DigComp area, competence and level, duration, pass mark,
//	                          attempts, quiz sizes
//	01-slug.vi.md             a lesson in Vietnamese (required), with front matter:
//	01-slug.en.md             title, competence, duration; the same lesson in English,
//	01-slug.rad.md            and in any other language (Ê Đê, M'nông...) with lang_name
//	images/NAME.png|jpg|svg   images the lessons show
//	questions/01-slug.gift    the lesson's quiz bank (GIFT); other banks feed the final test
//
// Lessons are Markdown (markdown.go): raw HTML is refused, links go to
// other lessons of the course or to http(s), images come from images/.

//go:embed content
var builtinContent embed.FS

// BuiltinCourses returns the folders of the courses civitas ships.
func BuiltinCourses() ([]fs.FS, error) {
	root, err := fs.Sub(builtinContent, "content")
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(root, ".")
	if err != nil {
		return nil, err
	}
	var out []fs.FS
	for _, e := range entries {
		if e.IsDir() {
			sub, err := fs.Sub(root, e.Name())
			if err != nil {
				return nil, err
			}
			out = append(out, sub)
		}
	}
	return out, nil
}

// Limits of a course folder.
const (
	maxLessonBytes  = 128 << 10
	maxImageBytes   = 512 << 10
	maxCourseBytes  = 8 << 20
	maxLessons      = 60
	maxImages       = 60
	maxLessonLangs  = 8
	maxBanks        = 80
	maxCourseFiles  = 400
	finalBank       = "final" // the quiz name of the final test
	defaultLanguage = "vi"
)

// Course is a course as loaded from its folder.
type Course struct {
	Code          string
	Titles        map[string]string // vi, en, ar
	Summaries     map[string]string
	Area          string // DigComp competence area "1".."5", or "road"
	Competence    string // of the course's own banks and the certificate
	Level         int    // DigComp proficiency level, 1 to 8
	Duration      int    // minutes
	PassMark      int    // percent of the final test's marks
	FinalAttempts int    // attempts at the final test
	QuizSize      int    // questions of a lesson quiz
	FinalSize     int    // questions of the final test
	Lessons       []Lesson
	Images        map[string]Image
	Questions     []Question
	Hash          string // of every file: a course imported again unchanged is left alone
}

// Lesson is one lesson of a course in each of its languages.
type Lesson struct {
	Slug       string
	Competence string
	Duration   int               // minutes
	Titles     map[string]string // by language, from each file and the title.XX keys
	Texts      []LessonText      // Vietnamese first
}

// LessonText is a lesson in one language.
type LessonText struct {
	Lang     string // BCP 47: vi, en, ar, rad (Ê Đê), mnc...
	LangName string // the language's own name, for languages the interface does not have
	Title    string
	HTML     string // rendered, safe
}

// Image is a picture of a course.
type Image struct {
	Name        string
	ContentType string
	Data        []byte
}

var (
	courseCodeRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,47}$`)
	lessonFileRE = regexp.MustCompile(`^([0-9]{2}-[a-z0-9-]{1,60})\.([a-z]{2,3})\.md$`)
	imageNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,79}\.(png|jpg|jpeg|svg)$`)
	bankNameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}\.gift$`)
	frontKeyRE   = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z]{2,3})?$`)
)

// courseErr is an Invalid error naming a file (and a line, when there is one).
func courseErr(key, file string, args ...any) error {
	return kernel.E(kernel.Invalid, key, append([]any{file}, args...)...)
}

// frontMatter splits "---\nkey: value\n---\n" off a file. Keys are
// lowercase words with an optional .LANG; values run to the end of the
// line, quotes around them dropped. It returns the body and the line the
// body starts on.
func frontMatter(file string, src string, allowed func(string) bool) (map[string]string, string, int, error) {
	if !strings.HasPrefix(src, "---\n") {
		return nil, "", 0, courseErr("learning.course.no_front_matter", file)
	}
	lines := strings.Split(src[4:], "\n")
	m := map[string]string{}
	for i, l := range lines {
		if strings.TrimSpace(l) == "---" {
			return m, strings.Join(lines[i+1:], "\n"), i + 3, nil
		}
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		k = strings.TrimSpace(k)
		if !ok || !frontKeyRE.MatchString(k) {
			return nil, "", 0, courseErr("learning.course.bad_front_matter", file, i+2)
		}
		if !allowed(k) {
			return nil, "", 0, courseErr("learning.course.unknown_key", file, i+2, k)
		}
		if _, dup := m[k]; dup {
			return nil, "", 0, courseErr("learning.course.duplicate_key", file, i+2, k)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return nil, "", 0, courseErr("learning.course.no_front_matter", file)
}

func courseKey(k string) bool {
	base, lang, _ := strings.Cut(k, ".")
	switch base {
	case "title", "summary":
		return lang != ""
	case "code", "area", "competence", "level", "duration", "pass_mark", "final_attempts", "quiz_size", "final_size":
		return lang == ""
	}
	return false
}

func lessonKey(k string) bool {
	base, lang, _ := strings.Cut(k, ".")
	switch base {
	case "title":
		return true
	case "competence", "duration", "lang_name":
		return lang == ""
	}
	return false
}

func intKey(file string, m map[string]string, key string, def, lo, hi int) (int, error) {
	v, ok := m[key]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, courseErr("learning.course.bad_number", file, key, lo, hi)
	}
	return n, nil
}

func validText(s string, max int) bool {
	return strings.TrimSpace(s) != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && !strings.ContainsAny(s, "\x00\r\n<>")
}

// LoadCourse reads and checks a course folder. Every lesson is rendered and
// every question bank parsed now, so a course that loads is a course that
// shows; warnings say what a GIFT import left out.
func LoadCourse(fsys fs.FS) (*Course, []Warning, error) {
	f, err := readCourseFiles(fsys)
	if err != nil {
		return nil, nil, err
	}
	return f.parse()
}

// courseFiles are a course folder's files, read and hashed.
type courseFiles struct {
	names    []string // sorted
	contents map[string][]byte
	hash     string
	meta     *Course // course.md's front matter
}

// readCourseFiles reads a course folder within its limits, hashes it and
// reads course.md: enough to know whether the course changed.
func readCourseFiles(fsys fs.FS) (*courseFiles, error) {
	var files []string
	total := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && p != "images" && p != "questions" {
				return courseErr("learning.course.unexpected_file", p)
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return courseErr("learning.course.unexpected_file", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += int(info.Size())
		if total > maxCourseBytes {
			return courseErr("learning.course.too_large", p, maxCourseBytes>>20)
		}
		files = append(files, p)
		if len(files) > maxCourseFiles {
			return courseErr("learning.course.too_many_files", p, maxCourseFiles)
		}
		return nil
	})
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Internal {
			return nil, kernel.E(kernel.Invalid, "learning.course.unreadable").WithCause(err)
		}
		return nil, err
	}
	slices.Sort(files)
	read := func(p string, limit int) ([]byte, error) {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, kernel.E(kernel.Invalid, "learning.course.unreadable").WithCause(err)
		}
		if len(b) > limit {
			return nil, courseErr("learning.course.file_too_large", p, limit>>10)
		}
		return b, nil
	}
	hash := sha256.New()
	var contents = map[string][]byte{}
	for _, p := range files {
		limit := maxLessonBytes
		switch {
		case strings.HasPrefix(p, "images/"):
			limit = maxImageBytes
		case strings.HasPrefix(p, "questions/"):
			limit = MaxGIFTBytes
		}
		b, err := read(p, limit)
		if err != nil {
			return nil, err
		}
		contents[p] = b
		hash.Write([]byte(p))
		hash.Write([]byte{0})
		hash.Write(b)
		hash.Write([]byte{0})
	}
	meta, ok := contents["course.md"]
	if !ok {
		return nil, courseErr("learning.course.no_course_file", "course.md")
	}
	c, err := courseMeta(string(meta))
	if err != nil {
		return nil, err
	}
	c.Hash = hex.EncodeToString(hash.Sum(nil))
	return &courseFiles{names: files, contents: contents, hash: c.Hash, meta: c}, nil
}

// parse checks and renders the files into a course.
func (f *courseFiles) parse() (*Course, []Warning, error) {
	files, contents, c := f.names, f.contents, f.meta
	c.Images = map[string]Image{}
	for _, p := range files {
		if name, ok := strings.CutPrefix(p, "images/"); ok {
			img, err := checkImage(p, name, contents[p])
			if err != nil {
				return nil, nil, err
			}
			if len(c.Images) >= maxImages {
				return nil, nil, courseErr("learning.course.too_many_images", p, maxImages)
			}
			c.Images[name] = img
		}
	}
	if err := c.loadLessons(files, contents); err != nil {
		return nil, nil, err
	}
	warnings, err := c.loadBanks(files, contents)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range files {
		if p != "course.md" && !strings.HasPrefix(p, "images/") && !strings.HasPrefix(p, "questions/") && !lessonFileRE.MatchString(p) {
			return nil, nil, courseErr("learning.course.unexpected_file", p)
		}
	}
	if len(c.finalPool()) < c.FinalSize {
		return nil, nil, courseErr("learning.course.too_few_questions", "questions/", len(c.finalPool()), c.FinalSize)
	}
	return c, warnings, nil
}

func courseMeta(src string) (*Course, error) {
	const file = "course.md"
	m, _, _, err := frontMatter(file, strings.ReplaceAll(src, "\r\n", "\n"), courseKey)
	if err != nil {
		return nil, err
	}
	c := &Course{Code: m["code"], Titles: map[string]string{}, Summaries: map[string]string{},
		Area: m["area"], Competence: m["competence"]}
	if !courseCodeRE.MatchString(c.Code) {
		return nil, courseErr("learning.course.bad_code", file)
	}
	for k, v := range m {
		base, lang, _ := strings.Cut(k, ".")
		switch base {
		case "title":
			if !validText(v, 200) {
				return nil, courseErr("learning.course.bad_title", file, k)
			}
			c.Titles[lang] = v
		case "summary":
			if !validText(v, 500) {
				return nil, courseErr("learning.course.bad_title", file, k)
			}
			c.Summaries[lang] = v
		}
	}
	for _, l := range []string{"vi", "en", "ar"} {
		if c.Titles[l] == "" {
			return nil, courseErr("learning.course.missing_title", file, "title."+l)
		}
	}
	if !slices.Contains(Areas(), c.Area) {
		return nil, courseErr("learning.course.bad_area", file, c.Area)
	}
	if !knownCompetence(c.Competence) || areaOf(c.Competence) != c.Area {
		return nil, courseErr("learning.course.bad_competence", file, c.Competence)
	}
	for _, f := range []struct {
		key         string
		to          *int
		def, lo, hi int
	}{
		{"level", &c.Level, 0, 1, 8},
		{"duration", &c.Duration, 60, 5, 6000},
		{"pass_mark", &c.PassMark, 70, 1, 100},
		{"final_attempts", &c.FinalAttempts, 3, 1, 20},
		{"quiz_size", &c.QuizSize, 5, 1, 50},
		{"final_size", &c.FinalSize, 10, 1, 100},
	} {
		n, err := intKey(file, m, f.key, f.def, f.lo, f.hi)
		if err != nil {
			return nil, err
		}
		*f.to = n
	}
	if c.Level == 0 {
		return nil, courseErr("learning.course.bad_number", file, "level", 1, 8)
	}
	return c, nil
}

// LessonURL and ImageURL are where a course's lessons and images are served.
func LessonURL(course, slug string) string { return "/learning/courses/" + course + "/lessons/" + slug }

// ImageURL is where a course's image is served.
func ImageURL(course, name string) string { return "/learning/courses/" + course + "/images/" + name }

func (c *Course) loadLessons(files []string, contents map[string][]byte) error {
	bySlug := map[string]*Lesson{}
	var order []string
	for _, p := range files {
		if lessonFileRE.MatchString(p) {
			slug := lessonFileRE.FindStringSubmatch(p)[1]
			if _, ok := bySlug[slug]; !ok {
				bySlug[slug] = &Lesson{Slug: slug, Titles: map[string]string{}}
				order = append(order, slug)
			}
		}
	}
	if len(order) == 0 {
		return courseErr("learning.course.no_lessons", "course.md")
	}
	if len(order) > maxLessons {
		return courseErr("learning.course.too_many_lessons", "course.md", maxLessons)
	}
	opts := MarkdownOptions{
		MinHeading: 2,
		Link: func(dest string) (string, bool) {
			target, frag, _ := strings.Cut(dest, "#")
			target = strings.TrimPrefix(target, "./")
			if m := lessonFileRE.FindStringSubmatch(target); m != nil {
				target = m[1]
			}
			target = strings.TrimSuffix(target, ".md")
			if _, ok := bySlug[target]; !ok {
				return "", false
			}
			u := LessonURL(c.Code, target)
			if frag != "" {
				u += "#" + frag
			}
			return u, true
		},
		Image: func(src string) (string, bool) {
			name, ok := strings.CutPrefix(strings.TrimPrefix(src, "./"), "images/")
			if _, have := c.Images[name]; !ok || !have {
				return "", false
			}
			return ImageURL(c.Code, name), true
		},
	}
	for _, p := range files {
		m := lessonFileRE.FindStringSubmatch(p)
		if m == nil {
			continue
		}
		l, lang := bySlug[m[1]], m[2]
		src := string(contents[p])
		if !utf8.ValidString(src) {
			return courseErr("learning.course.not_utf8", p)
		}
		fm, body, bodyLine, err := frontMatter(p, strings.ReplaceAll(strings.TrimPrefix(src, "\uFEFF"), "\r\n", "\n"), lessonKey)
		if err != nil {
			return err
		}
		t := LessonText{Lang: lang, Title: fm["title"], LangName: fm["lang_name"]}
		if !validText(t.Title, 200) {
			return courseErr("learning.course.bad_title", p, "title")
		}
		if t.LangName != "" && !validText(t.LangName, 60) {
			return courseErr("learning.course.bad_title", p, "lang_name")
		}
		l.Titles[lang] = t.Title
		for k, v := range fm {
			if tl, ok := strings.CutPrefix(k, "title."); ok {
				if !validText(v, 200) {
					return courseErr("learning.course.bad_title", p, k)
				}
				if _, own := l.Titles[tl]; !own || tl != lang {
					l.Titles[tl] = v
				}
			}
		}
		if lang == defaultLanguage {
			l.Competence = fm["competence"]
			if l.Competence == "" {
				l.Competence = c.Competence
			}
			if !knownCompetence(l.Competence) {
				return courseErr("learning.course.bad_competence", p, l.Competence)
			}
			if l.Duration, err = intKey(p, fm, "duration", 10, 1, 600); err != nil {
				return err
			}
		}
		html, problems := RenderMarkdown(body, opts)
		if len(problems) > 0 {
			pr := problems[0]
			return courseErr("learning.course.markdown_"+pr.Kind, p, pr.Line+bodyLine-1, pr.Text)
		}
		if strings.TrimSpace(html) == "" {
			return courseErr("learning.course.empty_lesson", p)
		}
		t.HTML = html
		if len(l.Texts) >= maxLessonLangs {
			return courseErr("learning.course.too_many_languages", p, maxLessonLangs)
		}
		l.Texts = append(l.Texts, t)
	}
	for _, slug := range order {
		l := bySlug[slug]
		if l.Competence == "" {
			return courseErr("learning.course.no_vietnamese", slug+".vi.md")
		}
		// A file's own title wins over a title.XX given in another file.
		for _, t := range l.Texts {
			l.Titles[t.Lang] = t.Title
		}
		slices.SortStableFunc(l.Texts, func(a, b LessonText) int {
			return langRank(a.Lang) - langRank(b.Lang)
		})
		c.Lessons = append(c.Lessons, *l)
	}
	return nil
}

// langRank orders a lesson's languages: the interface's first.
func langRank(l string) int {
	switch l {
	case "vi":
		return 0
	case "en":
		return 1
	case "ar":
		return 2
	}
	return 3
}

func (c *Course) lesson(slug string) *Lesson {
	for i := range c.Lessons {
		if c.Lessons[i].Slug == slug {
			return &c.Lessons[i]
		}
	}
	return nil
}

func (c *Course) loadBanks(files []string, contents map[string][]byte) ([]Warning, error) {
	var warnings []Warning
	banks := 0
	for _, p := range files {
		name, ok := strings.CutPrefix(p, "questions/")
		if !ok {
			continue
		}
		if !bankNameRE.MatchString(name) {
			return nil, courseErr("learning.course.unexpected_file", p)
		}
		if banks++; banks > maxBanks {
			return nil, courseErr("learning.course.too_many_files", p, maxBanks)
		}
		bank := strings.TrimSuffix(name, ".gift")
		if bank == finalBank {
			return nil, courseErr("learning.course.reserved_bank", p)
		}
		g, err := ParseGIFT(contents[p], bank)
		if err != nil {
			// The GIFT error, with the file named before its line.
			key, args := kernel.ErrorKey(err)
			return nil, kernel.E(kernel.Invalid, strings.Replace(key, "learning.gift.", "learning.gift_file.", 1), append([]any{p}, args...)...)
		}
		c.addBank(bank, g.Questions)
		for _, w := range g.Warnings {
			w.Args = append([]any{p}, w.Args...)
			w.Key = strings.Replace(w.Key, "learning.gift.", "learning.gift_file.", 1)
			warnings = append(warnings, w)
		}
	}
	return warnings, nil
}

// addBank puts a bank's questions in the course, replacing any bank of
// that name, each with its competence (its lesson's, or the course's) and
// its ID.
func (c *Course) addBank(bank string, qs []Question) {
	c.Questions = slices.DeleteFunc(c.Questions, func(q Question) bool { return q.Bank == bank })
	comp := c.Competence
	if l := c.lesson(bank); l != nil {
		comp = l.Competence
	}
	for _, q := range qs {
		q.Bank, q.Competence = bank, comp
		q.identify(c.Code)
		c.Questions = append(c.Questions, q)
	}
}

// finalPool is every question of the course: the final test draws from all banks.
func (c *Course) finalPool() []Question { return c.Questions }

// checkImage checks an image is what its name says, and for SVG that it
// carries nothing active (scripts, event handlers, foreign objects,
// external references). Images are also served under a sandboxing CSP.
func checkImage(p, name string, b []byte) (Image, error) {
	if !imageNameRE.MatchString(name) {
		return Image{}, courseErr("learning.course.unexpected_file", p)
	}
	img := Image{Name: name, Data: b}
	switch path.Ext(name) {
	case ".png":
		img.ContentType = "image/png"
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			return Image{}, courseErr("learning.course.bad_image", p)
		}
	case ".jpg", ".jpeg":
		img.ContentType = "image/jpeg"
		if !bytes.HasPrefix(b, []byte("\xff\xd8\xff")) {
			return Image{}, courseErr("learning.course.bad_image", p)
		}
	case ".svg":
		img.ContentType = "image/svg+xml"
		s := strings.ToLower(string(b))
		start := strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
		if !utf8.Valid(b) || !(strings.HasPrefix(start, "<svg") || strings.HasPrefix(start, "<?xml")) {
			return Image{}, courseErr("learning.course.bad_image", p)
		}
		for _, bad := range []string{"<script", "javascript:", "<foreignobject", "<iframe", "<!entity", "xlink:href=\"http", "href=\"http", "<use", "@import", "url(http"} {
			if strings.Contains(s, bad) {
				return Image{}, courseErr("learning.course.active_svg", p, bad)
			}
		}
		for i := 0; i+3 < len(s); i++ {
			// Event handler attributes: on...= after a space.
			if (s[i] == ' ' || s[i] == '\n' || s[i] == '\t') && s[i+1] == 'o' && s[i+2] == 'n' {
				j := i + 3
				for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
					j++
				}
				for j < len(s) && s[j] == ' ' {
					j++
				}
				if j > i+3 && j < len(s) && s[j] == '=' {
					return Image{}, courseErr("learning.course.active_svg", p, strings.TrimSpace(s[i:j]))
				}
			}
		}
	}
	return img, nil
}
