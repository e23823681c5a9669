package web

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

// The one formatting layer for values people read: dates as "7 December
// 2026" (in words, so no reader wonders whether 07-12 is July or December),
// times in the province's zone (kernel.Zone), sizes in kB and MB, and
// enumerations (sex, statuses) in the reader's language. The HTML forms wrap
// the value in <time datetime> and <bdi>, so a date keeps its order inside
// right-to-left text and machines still read the exact instant.

// FormatDate writes the calendar day of t in the province's zone, in words.
func FormatDate(c *i18n.Catalog, lang string, t time.Time) string {
	t = t.In(kernel.Zone())
	return c.T(lang, "web.date", t.Day(), c.T(lang, "web.month."+strconv.Itoa(int(t.Month()))), t.Year())
}

// FormatDateTime writes the day and the time of day of t in the province's zone.
func FormatDateTime(c *i18n.Catalog, lang string, t time.Time) string {
	t = t.In(kernel.Zone())
	return c.T(lang, "web.datetime", FormatDate(c, lang, t), t.Format("15:04"))
}

// FormatSize writes a number of bytes as people read it: "20 MB", "1.5 MB",
// "640 kB" (decimal units, as phones show file sizes; never "MiB").
func FormatSize(c *i18n.Catalog, lang string, n int64) string {
	switch {
	case n >= 1_000_000:
		return c.T(lang, "web.size.mb", decimal(lang, float64(n)/1e6))
	case n >= 1000:
		return c.T(lang, "web.size.kb", decimal(lang, float64(n)/1e3))
	default:
		return c.T(lang, "web.size.bytes", n)
	}
}

// decimal writes x with at most one decimal, with the language's separator
// (Vietnamese writes 1,5).
func decimal(lang string, x float64) string {
	s := strconv.FormatFloat(x, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if lang == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// day reads what templates pass as a date: a time.Time, a *time.Time, or a
// calendar day "2006-01-02" (as registries store birth dates). ok is false
// for anything else, including the zero time.
func day(x any) (t time.Time, dateOnly, ok bool) {
	switch x := x.(type) {
	case time.Time:
		return x, false, !x.IsZero()
	case *time.Time:
		if x == nil || x.IsZero() {
			return time.Time{}, false, false
		}
		return *x, false, true
	case string:
		if d, err := time.ParseInLocation(time.DateOnly, x, kernel.Zone()); err == nil {
			return d, true, true
		}
		if d, err := time.Parse(time.RFC3339, x); err == nil {
			return d, false, true
		}
	}
	return time.Time{}, false, false
}

// Date is the template form of FormatDate: {{$.Date .BirthDate}} gives
// <time datetime="1980-05-02"><bdi>2 May 1980</bdi></time>. A value it cannot
// read is printed as it is.
func (v *View) Date(x any) template.HTML {
	t, _, ok := day(x)
	if !ok {
		return template.HTML(template.HTMLEscapeString(strings.TrimSpace(toString(x))))
	}
	t = t.In(kernel.Zone())
	return timeTag(t.Format(time.DateOnly), FormatDate(v.s.catalog, v.Lang.Code, t))
}

// DateTime is the template form of FormatDateTime, or of FormatDate for a
// calendar day without a time.
func (v *View) DateTime(x any) template.HTML {
	t, dateOnly, ok := day(x)
	if !ok {
		return template.HTML(template.HTMLEscapeString(strings.TrimSpace(toString(x))))
	}
	if dateOnly {
		return v.Date(x)
	}
	return timeTag(t.In(kernel.Zone()).Format(time.RFC3339), FormatDateTime(v.s.catalog, v.Lang.Code, t))
}

// DateText is FormatDate as plain text, for a date inside a sentence of the
// catalogue: {{$.T "key" ($.DateText .Day)}}.
func (v *View) DateText(x any) string {
	t, _, ok := day(x)
	if !ok {
		return toString(x)
	}
	return FormatDate(v.s.catalog, v.Lang.Code, t)
}

// Size is the template form of FormatSize.
func (v *View) Size(n int64) string { return FormatSize(v.s.catalog, v.Lang.Code, n) }

// Enum names the value of an enumeration in the reader's language: {{$.Enum
// "sex" .Sex}} reads the key web.enum.sex.F. A value the catalogue lacks is
// printed as it is, never as a key.
func (v *View) Enum(kind, value string) string {
	key := "web.enum." + kind + "." + value
	if !v.s.catalog.Has(key) {
		return value
	}
	return v.T(key)
}

func timeTag(machine, human string) template.HTML {
	return template.HTML(`<time datetime="` + template.HTMLEscapeString(machine) + `"><bdi>` +
		template.HTMLEscapeString(human) + `</bdi></time>`)
}

func toString(x any) string {
	switch x := x.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return ""
}

// Value writes a named value for reading, isolated for right-to-left text:
// an enumeration the catalogue names (web.enum.NAME.VALUE, such as sex F), a
// calendar day or an RFC 3339 instant in words, or else the value as it is.
// It suits claims and registry fields whose names a page does not know in
// advance: {{$.Value .Name .Value}}.
func (v *View) Value(name, value string) template.HTML {
	if v.s.catalog.Has("web.enum." + name + "." + value) {
		return template.HTML("<bdi>" + template.HTMLEscapeString(v.Enum(name, value)) + "</bdi>")
	}
	if _, _, ok := day(value); ok {
		return v.DateTime(value)
	}
	return template.HTML("<bdi>" + template.HTMLEscapeString(value) + "</bdi>")
}
