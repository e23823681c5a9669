package learning

import (
	"strings"
	"testing"
	"testing/fstest"

	"civitas/internal/kernel"
)

// testCourse is a small valid course folder with files replaced or added
// (an empty content deletes a file).
func testCourse(files map[string]string) fstest.MapFS {
	var bank strings.Builder
	for i := range 4 {
		bank.WriteString("::Q" + string(rune('a'+i)) + ":: Question " + string(rune('a'+i)) + "? {=yes ~no}\n\n")
	}
	fsys := fstest.MapFS{
		"course.md": {Data: []byte("---\ncode: test-course\ntitle.vi: Khóa thử\ntitle.en: Test course\ntitle.ar: دورة تجريبية\n" +
			"area: 4\ncompetence: 4.1\nlevel: 2\nquiz_size: 2\nfinal_size: 3\n---\n")},
		"01-a.vi.md":          {Data: []byte("---\ntitle: Bài một\ntitle.ar: الدرس الأول\ncompetence: 4.2\n---\nXin chào ![hình](images/a.svg)\n")},
		"01-a.en.md":          {Data: []byte("---\ntitle: Lesson one\n---\nHello\n")},
		"images/a.svg":        {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>`)},
		"questions/01-a.gift": {Data: []byte(bank.String())},
	}
	for name, data := range files {
		if data == "" {
			delete(fsys, name)
			continue
		}
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func keyAndArgs(err error) (string, []any) {
	key, args := kernel.ErrorKey(err)
	if len(args) == 0 {
		args = []any{""}
	}
	return key, args
}

func TestLoadCourse(t *testing.T) {
	c, warnings, err := LoadCourse(testCourse(map[string]string{
		// A lesson in Ê Đê, a language the interface does not have.
		"01-a.rad.md": "---\ntitle: Klei hriăm sa\nlang_name: Êđê\n---\nKlei hriăm (a test text for a language the interface lacks)\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 || c.Code != "test-course" || len(c.Lessons) != 1 || len(c.Questions) != 4 {
		t.Fatalf("course %+v, warnings %v", c, warnings)
	}
	l := c.Lessons[0]
	if l.Competence != "4.2" || len(l.Texts) != 3 || l.Texts[0].Lang != "vi" || l.Texts[1].Lang != "en" || l.Texts[2].Lang != "rad" ||
		l.Texts[2].LangName != "Êđê" || l.Titles["ar"] != "الدرس الأول" || l.Titles["en"] != "Lesson one" {
		t.Fatalf("lesson %+v", l)
	}
	if !strings.Contains(l.Texts[0].HTML, `<img src="/learning/courses/test-course/images/a.svg" alt="hình"`) {
		t.Fatalf("lesson HTML %s", l.Texts[0].HTML)
	}
	for _, q := range c.Questions {
		if q.Competence != "4.2" || q.Bank != "01-a" || q.ID == "" {
			t.Fatalf("question %+v", q)
		}
	}
	for _, tt := range []struct {
		name  string
		files map[string]string
		key   string
	}{
		{"fail/no course file", map[string]string{"course.md": ""}, "learning.course.no_course_file"},
		{"fail/unknown key", map[string]string{"course.md": "---\ncode: x\ncolour: red\n---\n"}, "learning.course.unknown_key"},
		{"fail/no arabic title", map[string]string{"course.md": "---\ncode: test-course\ntitle.vi: a\ntitle.en: b\narea: 4\ncompetence: 4.1\nlevel: 1\n---\n"}, "learning.course.missing_title"},
		{"fail/competence not of its area", map[string]string{"course.md": "---\ncode: test-course\ntitle.vi: a\ntitle.en: b\ntitle.ar: c\narea: 4\ncompetence: 2.1\nlevel: 1\n---\n"}, "learning.course.bad_competence"},
		{"fail/no vietnamese lesson", map[string]string{"01-a.vi.md": ""}, "learning.course.no_vietnamese"},
		{"fail/script in an svg", map[string]string{"images/a.svg": `<svg><script>alert(1)</script></svg>`}, "learning.course.active_svg"},
		{"fail/event handler in an svg", map[string]string{"images/a.svg": `<svg onload="x()"></svg>`}, "learning.course.active_svg"},
		{"fail/a png that is not", map[string]string{"images/b.png": "GIF89a"}, "learning.course.bad_image"},
		{"fail/oversized lesson", map[string]string{"02-b.vi.md": "---\ntitle: B\n---\n" + strings.Repeat("x", maxLessonBytes)}, "learning.course.file_too_large"},
		{"fail/oversized image", map[string]string{"images/b.png": "\x89PNG\r\n\x1a\n" + strings.Repeat("x", maxImageBytes)}, "learning.course.file_too_large"},
		{"fail/malformed bank", map[string]string{"questions/01-a.gift": "Q {=a"}, "learning.gift_file.no_closing_brace"},
		{"fail/too few questions", map[string]string{"questions/01-a.gift": "Q {=a ~b}"}, "learning.course.too_few_questions"},
		{"fail/stray file", map[string]string{"notes.txt": "x"}, "learning.course.unexpected_file"},
		{"fail/stray folder", map[string]string{"src/x.go": "package x"}, "learning.course.unexpected_file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadCourse(testCourse(tt.files))
			if k, _ := keyAndArgs(err); k != tt.key {
				t.Fatalf("got %v, want %s", err, tt.key)
			}
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("code %s", kernel.ErrorCode(err))
			}
		})
	}
}
