package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// ParseBytes reads a size as GOMEMLIMIT writes it: a number of bytes with an
// optional unit B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB
// (powers of 1000), e.g. "512MiB".
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult := map[string]float64{"": 1, "B": 1,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
	if mult == 0 {
		return 0, errors.New("unknown unit " + strconv.Quote(unit) + " (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || math.IsInf(f*mult, 0) || f*mult >= math.MaxInt64 {
		return 0, errors.New("want a size such as 512MiB, not " + strconv.Quote(s))
	}
	return int64(f * mult), nil
}
