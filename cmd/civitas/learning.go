package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/learning"
	"civitas/internal/registry"
)

// learningCommand is the fixed contract for course authors:
// civitas learning import --data DIR --course DIR
// civitas learning import-gift --data DIR --course CODE --file QUESTIONS.gift [--bank NAME]
// civitas learning courses --data DIR [--json]
func learningCommand() command {
	var course, file, bank string
	var asJSON bool
	return command{
		name: "learning",
		usage: "civitas learning import --data DIR --course DIR | civitas learning import-gift --data DIR --course CODE --file QUESTIONS.gift [--bank NAME] | " +
			"civitas learning courses --data DIR [--json]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&course, "course", "", "import: the course `folder`; import-gift: the course's `code`")
			fs.StringVar(&file, "file", "", "import-gift: the GIFT `file` (as exported by Moodle)")
			fs.StringVar(&bank, "bank", "", "import-gift: the question bank's `name` (a lesson's, for its quiz); default: the file's name")
			fs.BoolVar(&asJSON, "json", false, "courses: one JSON object per line")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, stderr io.Writer) error {
			if len(args) != 1 {
				return usageError("expected: civitas learning import | import-gift | courses")
			}
			switch args[0] {
			case "import":
				if course == "" {
					return usageError("--course names the course folder")
				}
				if st, err := os.Stat(course); err != nil || !st.IsDir() {
					return fmt.Errorf("--course %s: not a folder", course)
				}
			case "import-gift":
				if course == "" || file == "" {
					return usageError("--course CODE and --file QUESTIONS.gift are required")
				}
				if bank == "" {
					// "Week 1 quiz.gift.txt" -> "week-1-quiz"
					name, _, _ := strings.Cut(filepath.Base(file), ".")
					bank = strings.Trim(strings.Map(func(r rune) rune {
						if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
							return r
						}
						return '-'
					}, strings.ToLower(name)), "-")
				}
			case "courses":
			default:
				return usageError("expected: civitas learning import | import-gift | courses")
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			clock := kernel.SystemClock{}
			s, err := app.OpenLearning(ctx, d, clock, registry.New(d, clock), nil, nil, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			var im learning.Imported
			switch args[0] {
			case "import":
				im, err = s.ImportCourse(ctx, os.DirFS(course), learning.SourceImport)
			case "import-gift":
				var src []byte
				if src, err = readLimited(file, learning.MaxGIFTBytes); err == nil {
					im, err = s.ImportGIFT(ctx, course, bank, src)
				}
			case "courses":
				return listCourses(ctx, s, asJSON, stdout)
			}
			if err != nil {
				return err
			}
			printWarnings(im.Warnings, stderr)
			switch {
			case im.Unchanged:
				fmt.Fprintf(stdout, "%s unchanged: %d lessons, %d questions\n", im.Code, im.Lessons, im.Questions)
			default:
				fmt.Fprintf(stdout, "imported %s: %d lessons, %d questions\n", im.Code, im.Lessons, im.Questions)
			}
			return nil
		},
	}
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, kernel.E(kernel.Invalid, "learning.gift.too_large", limit>>10)
	}
	return b, nil
}

// printWarnings says in English what an import left out.
func printWarnings(ws []learning.Warning, stderr io.Writer) {
	if len(ws) == 0 {
		return
	}
	cat, err := i18n.LoadLanguage("en")
	for _, w := range ws {
		text := w.Key
		if err == nil {
			text = cat.T("en", w.Key, w.Args...)
		}
		fmt.Fprintf(stderr, "warning: %s\n", text)
	}
}

func listCourses(ctx context.Context, s *learning.Service, asJSON bool, stdout io.Writer) error {
	cs, err := s.Courses(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if asJSON {
			b, _ := json.Marshal(map[string]any{"code": c.Code, "title": c.Title("vi"), "titles": c.Titles, "lessons": c.Lessons,
				"questions": c.Questions, "area": c.Area, "level": c.Level, "source": c.Source})
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		fmt.Fprintf(stdout, "%-24s %2d lessons %3d questions  %s\n", c.Code, c.Lessons, c.Questions, c.Title("vi"))
	}
	return nil
}
