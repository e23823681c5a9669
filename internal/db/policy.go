package db

import (
	"bufio"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// Release is a release of civitas and the newest migration it shipped.
type Release struct {
	Name string
	Last string // migration version
}

// Releases reads migrations/RELEASES, oldest first.
func Releases() ([]Release, error) {
	b, err := fs.ReadFile(migrationFS, "migrations/RELEASES")
	if err != nil {
		return nil, fmt.Errorf("db: read releases: %w", err)
	}
	return ParseReleases(string(b))
}

// ParseReleases reads "VERSION NAME" lines (# comments, blank lines).
func ParseReleases(text string) ([]Release, error) {
	var out []Release
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || (len(out) > 0 && f[0] <= out[len(out)-1].Last) {
			return nil, fmt.Errorf("db: releases line %d: want \"VERSION NAME\", versions rising", n)
		}
		out = append(out, Release{Name: f[1], Last: f[0]})
	}
	return out, sc.Err()
}

// releaseOf is the index of the release that shipped version (len(rs) for
// the next, unreleased one).
func releaseOf(rs []Release, version string) int {
	for i, r := range rs {
		if version <= r.Last {
			return i
		}
	}
	return len(rs)
}

// contraction matches the statements that take something away from the
// schema the previous release may still use. Dropping an index does not
// (queries still run), nor does adding anything.
var contraction = regexp.MustCompile(`(?is)\bDROP\s+(TABLE|COLUMN|VIEW)\b|\bRENAME\b|\bALTER\s+COLUMN\b[^;]*\bTYPE\b|\bALTER\s+TABLE\s+\S+\s+ALTER\b[^;]*\bSET\s+NOT\s+NULL\b`)

var contractMark = regexp.MustCompile(`(?m)^\s*--\s*civitas:contract\s+(\S+)\s*$`)

// CheckExpandContract holds ms to the rule of migrations/RELEASES: a
// migration that contracts the schema (drops or renames a table or
// column, changes a type, makes a column NOT NULL) names its expand step,
// an earlier migration shipped in an earlier release. Migrations up to
// the first release predate the rule. It returns one problem a line.
func CheckExpandContract(ms []Migration, rs []Release) []string {
	var problems []string
	known := map[string]bool{}
	for _, m := range ms {
		known[m.Version] = true
	}
	for _, m := range ms {
		if len(rs) > 0 && m.Version <= rs[0].Last {
			continue
		}
		sql := stripComments(m.SQL)
		if !contraction.MatchString(sql) {
			continue
		}
		mark := contractMark.FindStringSubmatch(m.SQL)
		switch {
		case mark == nil:
			problems = append(problems, fmt.Sprintf("%s contracts the schema (%s) without a -- civitas:contract EXPAND line: expand in one release, contract in a later one",
				m.Version, strings.TrimSpace(contraction.FindString(sql))))
		case !known[mark[1]] || mark[1] >= m.Version:
			problems = append(problems, fmt.Sprintf("%s names %s as its expand step, which is not an earlier migration", m.Version, mark[1]))
		case releaseOf(rs, mark[1]) >= releaseOf(rs, m.Version):
			problems = append(problems, fmt.Sprintf("%s contracts what %s expanded in the same release: the release before would run without it during an upgrade",
				m.Version, mark[1]))
		}
	}
	return problems
}

// stripComments removes -- comments, so that words in them do not count.
func stripComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
