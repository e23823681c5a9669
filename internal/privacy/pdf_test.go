package privacy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/i18n"
	"civitas/internal/pdf"
	"civitas/internal/privacy"
)

type catalogue struct {
	c    *i18n.Catalog
	lang string
}

func (c catalogue) T(key string, args ...any) string { return c.c.T(c.lang, key, args...) }
func (c catalogue) Has(key string) bool              { return c.c.Has(key) }

// The readable export: every section and record of the JSON, in the
// reader's language, over as many pages as it takes; pdftotext reads the
// Vietnamese back.
func TestExportPDF(t *testing.T) {
	b, err := pdf.SystemFont()
	if err != nil {
		t.Skip("no system font (fonts-dejavu-core)")
	}
	font, err := pdf.ParseFont(b)
	if err != nil {
		t.Fatal(err)
	}
	p := newProvince(t)
	ex, err := p.s.Export(as("acc-a"), "acc-a")
	if err != nil {
		t.Fatal(err)
	}
	// Enough records to run over a page.
	for i := range 120 {
		ex.Person.Sections = append(ex.Person.Sections, privacy.Section{Name: "audit", Records: []privacy.Record{{Kind: "audit", ID: string(rune('a' + i%26)),
			Fields: []privacy.Field{{Name: "action", Value: "wallet.document.issue"}}}}})
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := privacy.New(privacy.Options{DB: p.d, Clock: p.clock, Font: font})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"vi", "ar"} {
		out, err := s.PDF(ex, lang, catalogue{cat, lang})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "/Count ") || strings.Contains(string(out), "/Count 1\n") {
			t.Errorf("%s: one page only", lang)
		}
		if lang != "vi" {
			continue
		}
		file := filepath.Join(t.TempDir(), "export.pdf")
		if err := os.WriteFile(file, out, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath("pdftotext"); err != nil {
			t.Skip("pdftotext not installed (poppler-utils)")
		}
		text, err := exec.Command("pdftotext", file, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Dữ liệu cá nhân do civitas lưu giữ", p.a.FullName, p.a.CitizenID, p.c.CitizenID, "Hồ sơ dân cư", "Họ và tên"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("the PDF lacks %q", want)
			}
		}
	}
	if _, err := (must(privacy.New(privacy.Options{DB: p.d, Clock: p.clock}))).PDF(ex, "vi", catalogue{cat, "vi"}); err == nil {
		t.Error("a PDF without a font")
	}
}

func must(s *privacy.Service, err error) *privacy.Service {
	if err != nil {
		panic(err)
	}
	return s
}
