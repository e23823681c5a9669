package portal

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzUploadName: a file's name from the browser comes back as a name
// safe to show and to offer in Content-Disposition, with the extension of
// its content.
func FuzzUploadName(f *testing.F) {
	for _, s := range []string{"so-do.pdf", `..\..\evil"<b>.exe`, "a/b/c.png", "\x00\x7f.pdf", strings.Repeat("đ", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := cleanName(name, ".pdf")
		if !strings.HasSuffix(got, ".pdf") || !utf8.ValidString(got) || strings.ContainsAny(got, "/\\\"<>\x00\r\n") || utf8.RuneCountInString(got) > 104 {
			t.Fatalf("cleanName(%q) = %q", name, got)
		}
	})
}

// FuzzFormValue: any typed value is accepted by its type's rules or
// refused, never both ways, and no accepted text carries a line break
// where one line is asked.
func FuzzFormValue(f *testing.F) {
	for _, s := range []string{"2025-03-04", "099190013258", "12.5", "bank", "a\nb", "<script>"} {
		f.Add(s)
	}
	inputs := []Input{{Name: "t"}, {Name: "d", Type: "date"}, {Name: "n", Type: "number"}, {Name: "c", Type: "citizen_id"},
		{Name: "s", Type: "select", Options: []Option{{Value: "bank"}}}, {Name: "x", Type: "textarea"}}
	f.Fuzz(func(t *testing.T, v string) {
		for _, in := range inputs {
			if checkValue(in, v) == nil && (in.Type == "" || in.Type == "text") && strings.ContainsAny(v, "\r\n") {
				t.Fatalf("a line break in %s accepted: %q", in.Name, v)
			}
		}
	})
}

// FuzzSniff: only the three allowed kinds are recognised.
func FuzzSniff(f *testing.F) {
	f.Add([]byte("%PDF-1.7"))
	f.Add([]byte("MZ\x90"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ct, ext := sniffUpload(b)
		if ct != "" && ext != ".pdf" && ext != ".png" && ext != ".jpg" {
			t.Fatalf("%q gave %s %s", b, ct, ext)
		}
	})
}
