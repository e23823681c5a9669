package learning

import "strings"

// Competences after the European Digital Competence Framework (DigComp
// 2.2): five areas and their twenty-one competences, each learnt at one of
// eight proficiency levels. Traffic safety, which students learn on the
// same platform and DigComp does not cover, is an area of civitas's own
// ("road"), with competences numbered the same way. Their names are in the
// catalogue: learning.area.<area> and learning.competence.<code>.

var competenceCodes = []string{
	"1.1", "1.2", "1.3",
	"2.1", "2.2", "2.3", "2.4", "2.5", "2.6",
	"3.1", "3.2", "3.3", "3.4",
	"4.1", "4.2", "4.3", "4.4",
	"5.1", "5.2", "5.3", "5.4",
	"road.1", "road.2", "road.3", "road.4", "road.5",
}

// Areas returns the competence areas.
func Areas() []string { return []string{"1", "2", "3", "4", "5", "road"} }

// Competences returns every competence code, area by area.
func Competences() []string { return append([]string(nil), competenceCodes...) }

func knownCompetence(code string) bool {
	for _, c := range competenceCodes {
		if c == code {
			return true
		}
	}
	return false
}

// areaOf is a competence's area: "4" of "4.2", "road" of "road.1".
func areaOf(code string) string {
	a, _, _ := strings.Cut(code, ".")
	return a
}

// LevelBand is the DigComp name of a proficiency level's band: foundation
// (1-2), intermediate (3-4), advanced (5-6), highly specialised (7-8).
func LevelBand(level int) string {
	switch {
	case level <= 2:
		return "foundation"
	case level <= 4:
		return "intermediate"
	case level <= 6:
		return "advanced"
	}
	return "specialised"
}

// Mastery levels of a competence, after Khan Academy's: a learner who
// answered its questions is "attempted"; 70 % right in a quiz makes them
// "familiar", everything right "proficient", and everything right in the
// final test once proficient "mastered". Less than 70 % later drops a
// proficient or mastered learner one level.
const (
	MasteryNone       = 0
	MasteryAttempted  = 1
	MasteryFamiliar   = 2
	MasteryProficient = 3
	MasteryMastered   = 4
)

// MasteryNames are the mastery levels' names, for message keys and classes.
var masteryNames = []string{"none", "attempted", "familiar", "proficient", "mastered"}

// MasteryName names a mastery level.
func MasteryName(level int) string {
	if level < 0 || level >= len(masteryNames) {
		return masteryNames[0]
	}
	return masteryNames[level]
}

// nextMastery is the mastery level after a quiz where the learner earned
// fraction of the marks of the competence's questions.
func nextMastery(level int, fraction float64, final bool) int {
	switch {
	case fraction >= 0.9999 && final && level >= MasteryProficient:
		return MasteryMastered
	case fraction >= 0.9999:
		return max(level, MasteryProficient)
	case fraction >= 0.7:
		return max(level, MasteryFamiliar)
	case level >= MasteryProficient:
		return level - 1
	}
	return max(level, MasteryAttempted)
}
