package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Default is the language used when nothing else is known: Vietnamese.
const Default = "vi"

// Lang describes one language of the user interface.
type Lang struct {
	Code string // BCP 47 primary subtag: "vi", "en", "ar"
	Name string // the language's own name for itself, as shown in a switcher
	Dir  string // writing direction for the dir attribute: "ltr" or "rtl"
}

// languages lists the supported languages, default first. It is a function,
// not a package variable, so nobody can change the list at run time.
func languages() []Lang {
	return []Lang{
		{Code: "vi", Name: "Tiếng Việt", Dir: "ltr"},
		{Code: "en", Name: "English", Dir: "ltr"},
		{Code: "ar", Name: "العربية", Dir: "rtl"},
	}
}

// Supported reports whether code (already lowercase, no region) is one of the
// languages of the catalogue.
func Supported(code string) bool {
	switch code {
	case "vi", "en", "ar":
		return true
	}
	return false
}

//go:embed locales/*.json
var localeFS embed.FS

// Catalog holds the messages of every language. It is read-only after Load
// and safe for concurrent use.
type Catalog struct {
	langs []Lang
	msgs  map[string]map[string]string // language -> key -> message
}

// Load reads the embedded catalogues.
func Load() (*Catalog, error) {
	sub, err := fs.Sub(localeFS, "locales")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	return LoadFS(sub)
}

// LoadLanguage reads only the messages of one language (the default one
// for a code that is not supported): what a command printing in one
// language needs, at a third of the cost of Load. It skips the comparison
// of languages, which Load at every server start and the tests make.
func LoadLanguage(code string) (*Catalog, error) {
	if !Supported(code) {
		code = Default
	}
	sub, err := fs.Sub(localeFS, "locales")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	c := &Catalog{langs: languages(), msgs: make(map[string]map[string]string)}
	m, err := loadLang(sub, code)
	if err != nil {
		return nil, err
	}
	c.msgs[code] = m
	if code != Default {
		// T falls back to the default language; with one language loaded
		// that is this one.
		c.msgs[Default] = m
	}
	return c, nil
}

// LoadFS reads the catalogues vi.json, en.json and ar.json at the root of
// fsys, and with each the capability files AREA.vi.json, AREA.en.json, ...
// (so that each capability keeps its own messages). Each is a flat JSON
// object of key -> message. It fails when a file is missing or malformed,
// when a message is empty, when two files of a language share a key, when
// the languages do not have exactly the same keys, or when a translation's
// placeholders differ from the default language's.
func LoadFS(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{langs: languages(), msgs: make(map[string]map[string]string)}
	for _, l := range c.langs {
		m, err := loadLang(fsys, l.Code)
		if err != nil {
			return nil, err
		}
		c.msgs[l.Code] = m
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadLang reads the files of one language: CODE.json and AREA.CODE.json.
func loadLang(fsys fs.FS, code string) (map[string]string, error) {
	files, err := fs.Glob(fsys, "*."+code+".json")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	m := make(map[string]string)
	for _, name := range append([]string{code + ".json"}, files...) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("i18n: read catalogue %s: %w", name, err)
		}
		part, err := parseCatalogue(b)
		if err != nil {
			return nil, fmt.Errorf("i18n: catalogue %s: %w", name, err)
		}
		for k, v := range part {
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("i18n: catalogue %s: key %q is already in another %s file", name, k, code)
			}
			m[k] = v
		}
	}
	return m, nil
}

// parseCatalogue reads a flat JSON object of non-empty strings. A key
// given twice is refused (encoding/json would keep the last silently, and
// a duplicated key is always a translator's slip): the keys are counted in
// a quick pass, and only when that count disagrees with the map are the
// tokens walked to name the key. Every command loads the catalogue, so
// this is on the path of each `civitas verify`.
func parseCatalogue(b []byte) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return walkCatalogue(b) // says where and why
	}
	if n, ok := countKeys(b); !ok || n != len(m) {
		return walkCatalogue(b)
	}
	for k, v := range m {
		if k == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("key %q: empty key or message", k)
		}
	}
	return m, nil
}

// countKeys counts the keys of a flat JSON object of strings that
// json.Unmarshal has accepted; ok is false for anything else (a nested
// value), which the slow path then judges.
func countKeys(b []byte) (n int, ok bool) {
	i := 0
	skip := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	str := func() bool { // a string at i, escapes included
		if i >= len(b) || b[i] != '"' {
			return false
		}
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				i++
				return true
			}
		}
		return false
	}
	skip()
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i++
	skip()
	if i < len(b) && b[i] == '}' {
		return 0, true
	}
	for {
		skip()
		if !str() {
			return 0, false
		}
		n++
		skip()
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i++
		skip()
		if !str() {
			return 0, false
		}
		skip()
		if i >= len(b) {
			return 0, false
		}
		if b[i] == '}' {
			return n, true
		}
		if b[i] != ',' {
			return 0, false
		}
		i++
	}
}

// walkCatalogue is parseCatalogue token by token, to name a duplicated
// key or a value that is not a string.
func walkCatalogue(b []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	m := make(map[string]string)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string) // object keys are always strings
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("key %q appears twice", k)
		}
		if k == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("key %q: empty key or message", k)
		}
		m[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the object")
	}
	return m, nil
}

// check compares every language with the default one.
func (c *Catalog) check() error {
	var problems []string
	base := c.msgs[Default]
	for _, l := range c.langs {
		if l.Code == Default {
			continue
		}
		m := c.msgs[l.Code]
		for _, k := range sortedKeys(base) {
			v, ok := m[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s lacks %q", l.Code, k))
				continue
			}
			if !slices.Equal(placeholders(base[k]), placeholders(v)) {
				problems = append(problems, fmt.Sprintf("%s %q has placeholders %v, %s has %v",
					l.Code, k, placeholders(v), Default, placeholders(base[k])))
			}
		}
		for _, k := range sortedKeys(m) {
			if _, ok := base[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s has %q, which %s lacks", l.Code, k, Default))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New("i18n: catalogues disagree: " + strings.Join(problems, "; "))
	}
	return nil
}

// T returns the message for key in lang with {0}, {1}, ... replaced by args.
// An unknown language falls back to the default; a key missing from a
// language falls back to the default language's message, then to the key
// itself, so a mistake shows as a visible key rather than a broken page.
func (c *Catalog) T(lang, key string, args ...any) string {
	if c == nil {
		return key
	}
	m, ok := c.msgs[lang]
	if !ok {
		m = c.msgs[Default]
	}
	msg, ok := m[key]
	if !ok {
		if msg, ok = c.msgs[Default][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return format(msg, args)
}

// Has reports whether key exists (in every language, as Load guarantees).
func (c *Catalog) Has(key string) bool {
	_, ok := c.msgs[Default][key]
	return ok
}

// Keys returns every key, sorted.
func (c *Catalog) Keys() []string { return sortedKeys(c.msgs[Default]) }

// Langs returns the supported languages, default first. The slice is a copy.
func (c *Catalog) Langs() []Lang { return slices.Clone(c.langs) }

// Lang returns the language with the given code, or the default language.
func (c *Catalog) Lang(code string) Lang {
	for _, l := range c.langs {
		if l.Code == code {
			return l
		}
	}
	return c.langs[0]
}

// format replaces {n} with fmt.Sprint(args[n]). A placeholder without an
// argument is left as it is: visible, but harmless.
func format(msg string, args []any) string {
	var b strings.Builder
	b.Grow(len(msg) + 16)
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			b.WriteString(msg)
			return b.String()
		}
		j += i
		n, err := strconv.Atoi(msg[i+1 : j])
		b.WriteString(msg[:i])
		if err != nil || n < 0 || n >= len(args) {
			b.WriteString(msg[i : j+1])
		} else {
			b.WriteString(fmt.Sprint(args[n]))
		}
		msg = msg[j+1:]
	}
}

// placeholders returns the sorted distinct {n} placeholders in msg.
func placeholders(msg string) []int {
	var out []int
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			break
		}
		if n, err := strconv.Atoi(msg[i+1 : i+j]); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
		msg = msg[i+j+1:]
	}
	slices.Sort(out)
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
