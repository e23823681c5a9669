package calendar

import (
	"testing"
	"time"
)

func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDateRoundTrip(t *testing.T) {
	for _, s := range []string{"1970-01-01", "2000-02-29", "2024-12-31", "2025-01-27", "2100-03-01", "1900-01-01"} {
		d := date(t, s)
		if d.String() != s {
			t.Errorf("%s came back as %s", s, d)
		}
		want, _ := time.Parse(time.DateOnly, s)
		if d.Weekday() != want.Weekday() {
			t.Errorf("%s: weekday %v, want %v", s, d.Weekday(), want.Weekday())
		}
	}
}

func TestWorkingDays(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name string
		from string
		n    int
		want string
	}{
		{"ok/plain week", "2025-03-03", 3, "2025-03-06"},
		{"ok/over a weekend", "2025-03-06", 3, "2025-03-11"},
		{"ok/over Tết 2025", "2025-01-24", 1, "2025-02-03"},
		{"ok/over Tết 2026", "2026-02-13", 2, "2026-02-24"},
		{"ok/working Saturday 2025-04-26 counts", "2025-04-25", 1, "2025-04-26"},
		{"ok/30-4 and the swapped 2-5", "2025-04-29", 1, "2025-05-05"},
		{"ok/new year 2026 swap", "2025-12-31", 1, "2026-01-05"},
		{"ok/working Saturday 2026-01-10", "2026-01-09", 1, "2026-01-10"},
		{"ok/Hùng Kings 2026 on Monday 27-4", "2026-04-24", 1, "2026-04-28"},
		{"ok/national day 2026", "2026-08-28", 1, "2026-09-03"},
		{"ok/Tết 2027 by the rule", "2027-02-04", 1, "2027-02-12"},
		{"ok/from a holiday", "2025-01-29", 1, "2025-02-03"},
		{"ok/zero on a working day", "2025-03-03", 0, "2025-03-03"},
		{"ok/zero on a Sunday", "2025-03-02", 0, "2025-03-03"},
		{"ok/past the index: weekdays", "2030-01-04", 1, "2030-01-07"},
		{"ok/before the index", "2024-12-27", 3, "2025-01-02"},
		{"ok/across the end of the index", "2028-12-29", 2, "2029-01-02"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.AddWorkingDays(date(t, tc.from), tc.n); got.String() != tc.want {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tc.from, tc.n, got, tc.want)
			}
		})
	}
}

// TestAgreesWithCounting checks the index against counting day by day.
func TestAgreesWithCounting(t *testing.T) {
	c := Default()
	start := date(t, "2024-12-01")
	for i := 0; i < 1500; i += 7 {
		from := start + Date(i)
		for _, n := range []int{1, 5, 15, 30} {
			d, left := from, n
			for left > 0 {
				d++
				if c.IsWorkingDay(d) {
					left--
				}
			}
			if got := c.AddWorkingDays(from, n); got != d {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, counting gives %s", from, n, got, d)
			}
			if got := c.WorkingDaysBetween(from, d); got != n {
				t.Fatalf("WorkingDaysBetween(%s, %s) = %d, want %d", from, d, got, n)
			}
		}
	}
}

func TestHolidaysOfYears(t *testing.T) {
	c := Default()
	for year, want := range map[int]int{2025: 12, 2026: 13, 2027: 11} {
		if got := len(c.Holidays(year)); got != want {
			t.Errorf("%d: %d days off, want %d", year, got, want)
		}
		for _, h := range c.Holidays(year) {
			d := date(t, h.Date)
			if d.weekend() {
				t.Errorf("%s (%s) is a weekend day: the day off is the next working day", h.Date, h.Name)
			}
			if c.IsWorkingDay(d) {
				t.Errorf("%s is a working day", h.Date)
			}
		}
	}
	if c.Holiday(date(t, "2026-02-17")) == "" {
		t.Error("Tết 2026 has no name")
	}
}

func TestParseRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"fail/not json":           `{`,
		"fail/bad date":           `{"holidays":[{"date":"2025-13-01"}]}`,
		"fail/twice":              `{"holidays":[{"date":"2025-01-01"},{"date":"2025-01-01"}]}`,
		"fail/working weekday":    `{"working_saturdays":["2025-04-25"]}`,
		"fail/saturday a holiday": `{"holidays":[{"date":"2025-04-26"}],"working_saturdays":["2025-04-26"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(in)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(defaultFile)
	f.Add([]byte(`{"holidays":[{"date":"2025-01-01"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if int(c.last-c.first) > 400*366 {
			return
		}
		d := c.AddWorkingDays(c.first, 10)
		if d <= c.first {
			t.Fatalf("AddWorkingDays went backwards: %s", d)
		}
	})
}

// BenchmarkAddWorkingDays is the deadline arithmetic of every submission
// and every queue row.
func BenchmarkAddWorkingDays(b *testing.B) {
	c := Default()
	start := date(b, "2025-01-01")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = c.AddWorkingDays(start+Date(i%1000), 1+i%30)
		i++
	}
}

func BenchmarkWorkingDaysBetween(b *testing.B) {
	c := Default()
	start := date(b, "2025-01-01")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = c.WorkingDaysBetween(start+Date(i%700), start+Date(i%700+i%60))
		i++
	}
}
