// Package calendar counts working days: the province's offices work Monday
// to Friday except public holidays, and some Saturdays the Government
// swaps for a weekday off. Deadlines of administrative procedures are
// promised in working days, so every application's return date is counted
// here.
//
// The holidays are data (holidays.json, replaceable by a file of the same
// form): days off and working Saturdays by date. Within the years the data
// covers, each answer is a lookup in an index made once (the running count
// of working days up to every day, and the date of every working day);
// outside them only weekends count.
//
// It must never read the clock or the time zone database: dates are civil
// days of the province, given by the caller.
package calendar

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// Date is a civil day: days since 1970-01-01.
type Date int32

// daysFromCivil is Howard Hinnant's days_from_civil.
func daysFromCivil(y, m, d int) Date {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return Date(era*146097 + doe - 719468)
}

// civil is the inverse of daysFromCivil.
func (d Date) civil() (y, m, day int) {
	z := int(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, day
}

// DateOf is the civil day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return daysFromCivil(y, int(m), d)
}

// NewDate is the date of a year, month and day.
func NewDate(y int, m time.Month, d int) Date { return daysFromCivil(y, int(m), d) }

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("calendar: bad date %q", s)
	}
	return DateOf(t), nil
}

// String is the date as "2006-01-02".
func (d Date) String() string {
	y, m, day := d.civil()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, day)
}

// Time is midnight of the date in loc.
func (d Date) Time(loc *time.Location) time.Time {
	y, m, day := d.civil()
	return time.Date(y, time.Month(m), day, 0, 0, 0, 0, loc)
}

// Weekday is the day of the week.
func (d Date) Weekday() time.Weekday {
	w := (int(d) + 4) % 7 // 1970-01-01 was a Thursday
	if w < 0 {
		w += 7
	}
	return time.Weekday(w)
}

func (d Date) weekend() bool { w := d.Weekday(); return w == time.Saturday || w == time.Sunday }

// Holiday is a day off.
type Holiday struct {
	Date string `json:"date"`
	Name string `json:"name"`
}

// File is the form of holidays.json.
type File struct {
	Holidays         []Holiday `json:"holidays"`
	WorkingSaturdays []string  `json:"working_saturdays"`
}

// Calendar answers working-day questions. It is read-only once made and
// safe for concurrent use.
type Calendar struct {
	first, last Date    // the days the index covers
	cum         []int32 // working days in [first, first+i]
	work        []Date  // the k-th working day of the index (k from 0)
	names       map[Date]string
}

//go:embed holidays.json
var defaultFile []byte

// Default is the calendar of the holidays shipped with civitas.
func Default() *Calendar {
	c, err := Parse(defaultFile)
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return c
}

// Load reads a holidays file; "" or a missing file gives Default.
func Load(path string) (*Calendar, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	return Parse(b)
}

// Parse reads holidays in the form of holidays.json. The index covers the
// whole years the file names, and one year after the last.
func Parse(b []byte) (*Calendar, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	c := &Calendar{names: map[Date]string{}}
	off := map[Date]bool{}
	on := map[Date]bool{}
	minY, maxY := 0, 0
	see := func(d Date) {
		y, _, _ := d.civil()
		if minY == 0 || y < minY {
			minY = y
		}
		if y > maxY {
			maxY = y
		}
	}
	for _, h := range f.Holidays {
		d, err := ParseDate(h.Date)
		if err != nil {
			return nil, err
		}
		if off[d] {
			return nil, fmt.Errorf("calendar: %s twice", h.Date)
		}
		off[d], c.names[d] = true, h.Name
		see(d)
	}
	for _, s := range f.WorkingSaturdays {
		d, err := ParseDate(s)
		if err != nil {
			return nil, err
		}
		if d.Weekday() != time.Saturday || off[d] {
			return nil, fmt.Errorf("calendar: %s is not a Saturday without a holiday", s)
		}
		on[d] = true
		see(d)
	}
	if minY == 0 {
		minY, maxY = 2025, 2025
	}
	c.first, c.last = NewDate(minY, 1, 1), NewDate(maxY+1, 12, 31)
	n := int(c.last-c.first) + 1
	c.cum = make([]int32, n)
	c.work = make([]Date, 0, n*5/7+8)
	var count int32
	for i := range n {
		d := c.first + Date(i)
		if (!d.weekend() || on[d]) && !off[d] {
			count++
			c.work = append(c.work, d)
		}
		c.cum[i] = count
	}
	return c, nil
}

// IsWorkingDay reports whether offices are open on d.
func (c *Calendar) IsWorkingDay(d Date) bool {
	if d < c.first || d > c.last {
		return !d.weekend()
	}
	i := int(d - c.first)
	prev := int32(0)
	if i > 0 {
		prev = c.cum[i-1]
	}
	return c.cum[i] != prev
}

// Holiday names the holiday on d, or "".
func (c *Calendar) Holiday(d Date) string { return c.names[d] }

// Holidays lists the days off of a year, in order.
func (c *Calendar) Holidays(year int) []Holiday {
	var out []Holiday
	for d, name := range c.names {
		if y, _, _ := d.civil(); y == year {
			out = append(out, Holiday{Date: d.String(), Name: name})
		}
	}
	slices.SortFunc(out, func(a, b Holiday) int {
		if a.Date < b.Date {
			return -1
		}
		return 1
	})
	return out
}

// AddWorkingDays is the n-th working day after from (n ≥ 1): a procedure
// received on from with a time limit of n working days is due then. With
// n ≤ 0 it is from itself when that is a working day, or the next one.
func (c *Calendar) AddWorkingDays(from Date, n int) Date {
	if n <= 0 {
		if c.IsWorkingDay(from) {
			return from
		}
		n = 1
	}
	if from >= c.first && from <= c.last {
		k := int(c.cum[from-c.first]) - 1 + n // index into work of the answer
		if k < len(c.work) {
			return c.work[k]
		}
		// Past the index: continue from its last working day.
		rest := k - (len(c.work) - 1)
		return weekdaysAfter(c.work[len(c.work)-1], rest)
	}
	if from < c.first {
		// Before the index: count weekdays up to it, then use it.
		d := from
		for n > 0 && d < c.first-1 {
			d++
			if !d.weekend() {
				n--
			}
		}
		if n == 0 {
			return d
		}
		// The rest is counted from the index's start.
		if n <= len(c.work) {
			return c.work[n-1]
		}
		return weekdaysAfter(c.work[len(c.work)-1], n-len(c.work))
	}
	return weekdaysAfter(from, n)
}

// weekdaysAfter is the n-th weekday after d, without holidays.
func weekdaysAfter(d Date, n int) Date {
	for n > 0 {
		d++
		if !d.weekend() {
			n--
		}
	}
	return d
}

// WorkingDaysBetween counts the working days after a up to and including b
// (0 when b is not after a): how many working days a case took, received
// on a and decided on b.
func (c *Calendar) WorkingDaysBetween(a, b Date) int {
	if b <= a {
		return 0
	}
	if a >= c.first && b <= c.last {
		return int(c.cum[b-c.first] - c.cum[a-c.first])
	}
	n := 0
	for d := a + 1; d <= b; d++ {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}
