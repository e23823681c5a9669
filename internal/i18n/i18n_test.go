package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// kernelKeys are the message keys that internal/kernel and internal/db hand
// to the web layer; each must be translated.
var kernelKeys = []string{
	"error.invalid", "error.not_found", "error.conflict", "error.forbidden",
	"error.unauthenticated", "error.too_many_requests", "error.unavailable",
	"error.internal", "error.csrf", "error.db.no_data_dir", "error.db.bad_dsn",
	"error.body_too_large", "error.method_not_allowed",
}

func mustLoad(t testing.TB) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestEmbeddedCatalogues(t *testing.T) {
	c := mustLoad(t)
	for _, key := range kernelKeys {
		t.Run("ok/"+key, func(t *testing.T) {
			if !c.Has(key) {
				t.Fatalf("key %q missing", key)
			}
		})
	}
	// Every key in every language, each message valid UTF-8 and different
	// from the key (a message equal to its key is an untranslated stub).
	for _, l := range c.Langs() {
		for _, key := range c.Keys() {
			msg, ok := c.msgs[l.Code][key]
			if !ok {
				t.Errorf("%s lacks %q", l.Code, key)
				continue
			}
			if !utf8.ValidString(msg) || msg == key {
				t.Errorf("%s %q: bad message %q", l.Code, key, msg)
			}
		}
	}
	// Vietnamese is written with its diacritics and Arabic in Arabic script:
	// guard against a catalogue saved in the wrong language or stripped of marks.
	if msg := c.T("vi", "home.title"); !strings.ContainsAny(msg, "ịệạươ") {
		t.Errorf("vi home.title has no Vietnamese diacritics: %q", msg)
	}
	if msg := c.T("ar", "home.title"); !strings.ContainsRune(msg, 'ل') {
		t.Errorf("ar home.title is not Arabic: %q", msg)
	}
}

func TestLangs(t *testing.T) {
	c := mustLoad(t)
	langs := c.Langs()
	want := []Lang{{"vi", "Tiếng Việt", "ltr"}, {"en", "English", "ltr"}, {"ar", "العربية", "rtl"}}
	if len(langs) != len(want) {
		t.Fatalf("Langs = %v", langs)
	}
	for i := range want {
		if langs[i] != want[i] {
			t.Errorf("Langs[%d] = %v, want %v", i, langs[i], want[i])
		}
	}
	langs[0].Code = "xx" // a copy: the catalogue must not change
	if c.Langs()[0].Code != "vi" {
		t.Error("Langs returned the catalogue's own slice")
	}
	if c.Lang("ar").Dir != "rtl" || c.Lang("zz").Code != Default {
		t.Error("Lang lookup")
	}
}

func TestT(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		name, lang, key string
		args            []any
		want            string
	}{
		{"ok/vi", "vi", "error.not_found", nil, "Không tìm thấy trang hoặc nội dung bạn cần."},
		{"ok/en", "en", "error.not_found", nil, "We could not find the page or item you asked for."},
		{"ok/placeholder", "en", "layout.footer_version", []any{"1.2.3"}, "Version 1.2.3"},
		{"ok/ar placeholder", "ar", "layout.footer_version", []any{"1.2"}, "الإصدار 1.2"},
		{"ok/unknown language falls back to vi", "de", "error.back_home", nil, "Về trang chủ"},
		{"fail/missing key shows the key", "en", "no.such.key", nil, "no.such.key"},
		{"fail/missing argument leaves the placeholder", "en", "error.http_status", []any{}, "HTTP status: {0}"},
		{"fail/extra arguments are ignored", "en", "error.back_home", []any{1, 2}, "Go to the home page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.T(tt.lang, tt.key, tt.args...); got != tt.want {
				t.Errorf("T = %q, want %q", got, tt.want)
			}
		})
	}
	var nilCat *Catalog
	if nilCat.T("vi", "x") != "x" {
		t.Error("nil catalogue must return the key")
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name, msg string
		args      []any
		want      string
	}{
		{"ok/two in order", "{0} of {1}", []any{1, 3}, "1 of 3"},
		{"ok/reordered", "{1} then {0}", []any{"a", "b"}, "b then a"},
		{"ok/repeated", "{0}{0}", []any{"x"}, "xx"},
		{"fail/out of range", "{2}", []any{"x"}, "{2}"},
		{"fail/not a number", "{name} {0}", []any{"x"}, "{name} x"},
		{"fail/unclosed", "a {0", []any{"x"}, "a {0"},
		{"fail/negative", "{-1}", []any{"x"}, "{-1}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := format(tt.msg, tt.args); got != tt.want {
				t.Errorf("format(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}

func TestLoadFS(t *testing.T) {
	good := `{"a": "A {0}", "b": "B"}`
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantErr string
	}{
		{"ok/consistent", fstest.MapFS{"vi.json": file(good), "en.json": file(good), "ar.json": file(good)}, ""},
		{"fail/missing file", fstest.MapFS{"vi.json": file(good), "en.json": file(good)}, "read catalogue ar"},
		{"fail/not JSON", fstest.MapFS{"vi.json": file(good), "en.json": file("{"), "ar.json": file(good)}, "catalogue en"},
		{"fail/not an object", fstest.MapFS{"vi.json": file(`["a"]`), "en.json": file(good), "ar.json": file(good)}, "not a JSON object"},
		{"fail/not a string", fstest.MapFS{"vi.json": file(`{"a": 1}`), "en.json": file(good), "ar.json": file(good)}, `key "a"`},
		{"fail/duplicate key", fstest.MapFS{"vi.json": file(`{"a": "x", "a": "y"}`), "en.json": file(good), "ar.json": file(good)}, "appears twice"},
		{"fail/empty message", fstest.MapFS{"vi.json": file(`{"a": " "}`), "en.json": file(good), "ar.json": file(good)}, "empty"},
		{"fail/duplicate key with escapes", fstest.MapFS{"vi.json": file(`{"q\"\\": "x", "b": "\"}\\", "q\"\\" : "y"}`), "en.json": file(good), "ar.json": file(good)}, "appears twice"},
		{"fail/duplicate key written differently", fstest.MapFS{"vi.json": file(`{"ab": "x", "a\u0062": "y"}`), "en.json": file(good), "ar.json": file(good)}, "appears twice"},
		{"fail/trailing data", fstest.MapFS{"vi.json": file(good + "{}"), "en.json": file(good), "ar.json": file(good)}, "trailing"},
		{"fail/key missing in a translation", fstest.MapFS{"vi.json": file(good), "en.json": file(`{"a": "A {0}"}`), "ar.json": file(good)}, `en lacks "b"`},
		{"fail/extra key in a translation", fstest.MapFS{"vi.json": file(good), "en.json": file(good), "ar.json": file(`{"a": "A {0}", "b": "B", "c": "C"}`)}, `ar has "c"`},
		{"fail/placeholders differ", fstest.MapFS{"vi.json": file(good), "en.json": file(`{"a": "A", "b": "B"}`), "ar.json": file(good)}, "placeholders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadFS(tt.files)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("LoadFS: %v", err)
				}
				if c.T("en", "a", 7) != "A 7" {
					t.Error("loaded catalogue does not translate")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "i18n: ") {
				t.Fatalf("LoadFS error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name                  string
		query, cookie, accept string
		want                  string
	}{
		{"ok/default", "", "", "", "vi"},
		{"ok/query wins", "ar", "en", "en", "ar"},
		{"ok/query upper case and region", "EN-gb", "", "", "en"},
		{"ok/cookie before header", "", "en", "ar", "en"},
		{"ok/header", "", "", "ar", "ar"},
		{"ok/header region", "", "", "en-GB,en;q=0.9", "en"},
		{"ok/header q-values order", "", "", "fr;q=1, en;q=0.5, ar;q=0.8", "ar"},
		{"ok/header first on ties", "", "", "en, ar", "en"},
		{"ok/header star is default", "", "", "fr, *;q=0.5", "vi"},
		{"ok/header spaces", "", "", "  ar ; q=0.7 , de", "ar"},
		{"fail/unsupported query falls through", "fr", "ar", "", "ar"},
		{"fail/unsupported cookie falls through", "", "xx", "en", "en"},
		{"fail/q zero excluded", "", "", "en;q=0, ar;q=0.1", "ar"},
		{"fail/bad q ignored", "", "", "en;q=abc, ar;q=0.2", "ar"},
		{"fail/q above one ignored", "", "", "en;q=2", "vi"},
		{"fail/unknown parameter ignored", "", "", "en;level=1", "vi"},
		{"fail/nothing supported", "", "", "fr, de;q=0.5", "vi"},
		{"fail/garbage", "<script>", "';--", ",,,;;;=", "vi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Negotiate(tt.query, tt.cookie, tt.accept); got != tt.want {
				t.Errorf("Negotiate(%q, %q, %q) = %q, want %q", tt.query, tt.cookie, tt.accept, got, tt.want)
			}
		})
	}
}

func FuzzNegotiate(f *testing.F) {
	f.Add("en", "ar", "vi;q=0.5, en-GB")
	f.Add("", "", "*;q=0.1,ar;q=0.2")
	f.Fuzz(func(t *testing.T, q, c, a string) {
		if got := Negotiate(q, c, a); !Supported(got) {
			t.Fatalf("Negotiate returned unsupported %q", got)
		}
	})
}

func BenchmarkNegotiate(b *testing.B) {
	for b.Loop() {
		Negotiate("", "", "en-GB,en;q=0.9,vi;q=0.8,ar;q=0.5")
	}
}

func BenchmarkT(b *testing.B) {
	c := mustLoad(b)
	for b.Loop() {
		c.T("ar", "layout.footer_version", "1.2.3")
	}
}

// One language alone says what the whole catalogue says in it.
func TestLoadLanguage(t *testing.T) {
	all, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"vi", "en", "ar", "xx"} {
		one, err := LoadLanguage(code)
		if err != nil {
			t.Fatal(err)
		}
		want := code
		if !Supported(code) {
			want = Default
		}
		if len(one.msgs[want]) != len(all.msgs[want]) || len(all.msgs[want]) == 0 {
			t.Fatalf("%s: %d messages, the catalogue has %d", code, len(one.msgs[want]), len(all.msgs[want]))
		}
		for k, v := range all.msgs[want] {
			if one.T(code, k) != v {
				t.Fatalf("%s %s: %q, want %q", code, k, one.T(code, k), v)
			}
		}
	}
}
