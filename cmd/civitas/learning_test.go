package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// TestLearningCommand holds the fixed contracts:
// civitas learning import --data DIR --course DIR
// civitas learning import-gift --data DIR --course CODE --file QUESTIONS.gift (non-zero with the line of a malformed question)
// civitas learning courses --data DIR --json (code, title, lessons and questions as integers)
func TestLearningCommand(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return civitas(t, append(args, "--data", dir)...)
	}
	courses := func() map[string]map[string]any {
		t.Helper()
		code, out, errs := run("learning", "courses", "--json")
		if code != exitOK {
			t.Fatalf("courses: %s", errs)
		}
		m := map[string]map[string]any{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var c map[string]any
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				t.Fatalf("courses --json line %q: %v", line, err)
			}
			m[c["code"].(string)] = c
		}
		return m
	}
	cs := courses()
	ts, ok := cs["traffic-safety"]
	if len(cs) != 3 || !ok || ts["title"] != "An toàn giao thông cho học sinh" || ts["lessons"] != float64(5) || ts["questions"] != float64(35) {
		t.Fatalf("courses %v", cs)
	}
	// A course folder of one's own.
	course := filepath.Join(t.TempDir(), "my-course")
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(course, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("course.md", "---\ncode: phone-basics\ntitle.vi: Dùng điện thoại thông minh\ntitle.en: Using a smartphone\ntitle.ar: استخدام الهاتف الذكي\n"+
		"area: 5\ncompetence: 5.1\nlevel: 1\nfinal_size: 2\n---\n")
	write("01-start.vi.md", "---\ntitle: Bật máy\n---\nNhấn giữ nút nguồn.\n")
	write("01-start.en.md", "---\ntitle: Switching on\n---\nPress and hold the power button.\n")
	write("questions/01-start.gift", "::P1:: Nút nào bật máy? {=Nút nguồn ~Nút âm lượng}\n\n::P2:: Giữ nút nguồn để bật máy.{T}\n")
	if code, out, errs := run("learning", "import", "--course", course); code != exitOK || !strings.Contains(out, "imported phone-basics: 1 lessons, 2 questions") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if c := courses()["phone-basics"]; c["lessons"] != float64(1) || c["questions"] != float64(2) || c["title"] != "Dùng điện thoại thông minh" {
		t.Fatalf("imported course %v", c)
	}
	// Moodle's own fixture imports, with its essay skipped and named.
	code, out, errs := run("learning", "import-gift", "--course", "phone-basics", "--file", filepath.Join("..", "..", "internal", "learning", "testdata", "moodle", "questions.gift.txt"))
	if code != exitOK || !strings.Contains(out, "imported phone-basics") || !strings.Contains(errs, "Line 2") || !strings.Contains(errs, "Q8") {
		t.Fatalf("import-gift: %d %s %s", code, out, errs)
	}
	// Eight questions, two of them the same ({T} and {TRUE}): seven more.
	if c := courses()["phone-basics"]; c["questions"] != float64(9) {
		t.Fatalf("after import-gift: %v", c)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/malformed question", []string{"learning", "import-gift", "--course", "phone-basics", "--file", "BAD"}, exitFailure, "Line 4"},
		{"fail/no such course", []string{"learning", "import-gift", "--course", "nope", "--file", "GOOD"}, exitFailure, "no such course"},
		{"fail/raw html in a lesson", []string{"learning", "import", "--course", "HTML"}, exitFailure, "01-start.vi.md, line 4"},
		{"fail/no folder", []string{"learning", "import", "--course", "/no/such/dir"}, exitFailure, "not a folder"},
		{"fail/no file", []string{"learning", "import-gift", "--course", "phone-basics"}, exitUsage, "--file"},
		{"fail/unknown subcommand", []string{"learning", "export"}, exitUsage, "expected"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := t.TempDir()
			bad := filepath.Join(files, "bad.gift")
			_ = os.WriteFile(bad, []byte("::A:: fine {=a ~b}\n\n::B::\nbroken {=a\n~b\n"), 0o644)
			good := filepath.Join(files, "good.gift")
			_ = os.WriteFile(good, []byte("::A:: fine {=a ~b}\n"), 0o644)
			html := filepath.Join(files, "html")
			_ = os.MkdirAll(filepath.Join(html, "questions"), 0o755)
			_ = os.WriteFile(filepath.Join(html, "course.md"), []byte("---\ncode: html-course\ntitle.vi: a\ntitle.en: b\ntitle.ar: c\narea: 5\ncompetence: 5.1\nlevel: 1\nfinal_size: 1\n---\n"), 0o644)
			_ = os.WriteFile(filepath.Join(html, "01-start.vi.md"), []byte("---\ntitle: A\n---\n<script>alert(1)</script>\n"), 0o644)
			_ = os.WriteFile(filepath.Join(html, "questions", "01-start.gift"), []byte("Q {=a ~b}\n"), 0o644)
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				switch a {
				case "BAD":
					args[i] = bad
				case "GOOD":
					args[i] = good
				case "HTML":
					args[i] = html
				}
			}
			code, out, errs := run(args...)
			if code != tt.code || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d (want %d): %s%s", code, tt.code, out, errs)
			}
		})
	}
}
