package web

import (
	"strings"
	"testing"
	"time"

	"civitas/internal/i18n"
)

func TestFormatHumanValues(t *testing.T) {
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	// 22:20 UTC on 6 December is 05:20 on 7 December in the province.
	at := time.Date(2026, 12, 6, 22, 20, 24, 0, time.UTC)
	for _, tc := range []struct{ lang, date, dateTime, size, small string }{
		{"vi", "7 tháng 12 năm 2026", "05:20, 7 tháng 12 năm 2026", "1,5 MB", "640 kB"},
		{"en", "7 December 2026", "7 December 2026, 05:20", "1.5 MB", "640 kB"},
		{"ar", "7 ديسمبر 2026", "7 ديسمبر 2026، الساعة 05:20", "1.5 ميغابايت", "640 كيلوبايت"},
	} {
		if got := FormatDate(c, tc.lang, at); got != tc.date {
			t.Errorf("%s date: %q, want %q", tc.lang, got, tc.date)
		}
		if got := FormatDateTime(c, tc.lang, at); got != tc.dateTime {
			t.Errorf("%s date-time: %q, want %q", tc.lang, got, tc.dateTime)
		}
		if got := FormatSize(c, tc.lang, 1_500_000); got != tc.size {
			t.Errorf("%s size: %q, want %q", tc.lang, got, tc.size)
		}
		if got := FormatSize(c, tc.lang, 640_000); got != tc.small {
			t.Errorf("%s small size: %q, want %q", tc.lang, got, tc.small)
		}
	}
	if got := FormatSize(c, "en", 20<<20); got != "21 MB" {
		t.Errorf("20 MiB: %q", got)
	}
}

func TestViewFormatsForTemplates(t *testing.T) {
	f := newFixture(t)
	v := &View{s: f.srv, Lang: f.srv.catalog.Lang("ar")}
	got := string(v.Date("1980-05-02"))
	if got != `<time datetime="1980-05-02"><bdi>2 مايو 1980</bdi></time>` {
		t.Errorf("Date: %s", got)
	}
	got = string(v.DateTime(time.Date(2026, 12, 6, 22, 20, 24, 0, time.UTC)))
	if !strings.Contains(got, `datetime="2026-12-07T05:20:24+07:00"`) || !strings.Contains(got, "<bdi>7 ديسمبر 2026") {
		t.Errorf("DateTime: %s", got)
	}
	if got := v.Enum("sex", "F"); got != "أنثى" {
		t.Errorf("Enum sex F: %q", got)
	}
	if got := v.Enum("sex", "X<"); got != "X<" {
		t.Errorf("unknown value: %q", got)
	}
	if got := string(v.Date("not a date <b>")); got != "not a date &lt;b&gt;" {
		t.Errorf("unreadable date: %q", got)
	}
}

func TestViewValue(t *testing.T) {
	f := newFixture(t)
	v := &View{s: f.srv, Lang: f.srv.catalog.Lang("en")}
	for in, want := range map[[2]string]string{
		{"sex", "M"}:                 "<bdi>Male</bdi>",
		{"birth_date", "1980-05-02"}: `<time datetime="1980-05-02"><bdi>2 May 1980</bdi></time>`,
		{"full_name", "Lê <Thị>"}:    "<bdi>Lê &lt;Thị&gt;</bdi>",
	} {
		if got := string(v.Value(in[0], in[1])); got != want {
			t.Errorf("Value(%q, %q) = %s, want %s", in[0], in[1], got, want)
		}
	}
}
