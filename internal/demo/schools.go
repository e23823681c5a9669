package demo

import (
	"fmt"
	"strings"

	"civitas/internal/registry"
)

// Schools of the demo: every child of school age (6 to 17 in the year the
// school year starts) is in a class of their commune's primary or lower
// secondary school, or of an upper secondary school of their district;
// classes fill up to a size and then a new one opens. The household's
// adults are the pupil's guardians. Each school has a principal, a vice
// principal and teachers, a homeroom teacher per class, from the
// commune's adults.

// firstGradeYear is the birth year of this school year's first-graders.
const firstGradeYear = 2019

// classSize is how many pupils a class takes before another opens.
var classSize = map[registry.SchoolLevel]int{registry.Primary: 35, registry.LowerSecondary: 42, registry.UpperSecondary: 45}

// pupils keeps the household's school-age children with their guardians.
func (g *generator) pupils(c *chunk, ci int, ms []member) {
	for _, m := range ms {
		p := &c.persons[m.i]
		grade := firstGradeYear - parse(p.BirthDate).Year() + 1
		if grade < 1 || grade > 12 {
			continue
		}
		pu := pupil{citizenID: p.CitizenID, commune: ci, grade: grade}
		for _, q := range ms {
			if q.age < 18 || q.i == m.i {
				continue
			}
			qp := &c.persons[q.i]
			if rel := guardianRelation(m.rel, q.rel, qp.Sex); rel != "" {
				pu.guardians = append(pu.guardians, registry.Guardian{CitizenID: p.CitizenID, GuardianCitizenID: qp.CitizenID, Relation: rel})
			}
		}
		g.recs.pupils = append(g.recs.pupils, pu)
	}
}

// guardianRelation is how an adult of the household stands to a pupil.
func guardianRelation(pupil, adult registry.Relation, sex registry.Sex) registry.GuardianRelation {
	pick := func(male, female registry.GuardianRelation) registry.GuardianRelation {
		if sex == registry.Male {
			return male
		}
		return female
	}
	switch {
	case pupil == registry.Child && (adult == registry.Head || adult == registry.Spouse):
		return pick(registry.Father, registry.Mother)
	case pupil == registry.Child && adult == registry.Parent:
		return pick(registry.Grandfather, registry.Grandmother)
	case pupil == registry.Grandchild && (adult == registry.Head || adult == registry.Spouse):
		return pick(registry.Grandfather, registry.Grandmother)
	case pupil == registry.Grandchild && adult == registry.Child:
		return pick(registry.Father, registry.Mother)
	}
	return registry.OtherGuardian
}

// schools puts every pupil in a class, opening classes as they fill, and
// staffs the schools: the rows to write, and the teachers' posts in
// g.recs.teacherPosts.
func (g *generator) schools() registry.Records {
	st := g.st
	r := g.src.school
	var rec registry.Records
	levels := map[string]registry.SchoolLevel{}
	communeOf := map[string]int{}
	for _, s := range st.ref.schools {
		levels[s.Code] = s.Level
		communeOf[s.Code] = g.communeIndex(s.UnitCode)
	}
	// Teachers: the school commune's candidates (the district's, for an
	// upper secondary school), walked so that each takes one post while
	// there are enough.
	pool := func(school string) []string {
		ci := communeOf[school]
		if levels[school] != registry.UpperSecondary {
			if t := g.recs.teachers[st.communes[ci].Code]; len(t) > 0 {
				return t
			}
			return g.officers[st.communes[ci].Code]
		}
		var out []string
		for cj, d := range st.communeDistrict {
			if d == st.communeDistrict[ci] {
				out = append(out, g.recs.teachers[st.communes[cj].Code]...)
			}
		}
		return out
	}
	pools := map[string][]string{}
	walked := map[string]int{}
	post := func(school string, role registry.Role) string {
		ps, ok := pools[school]
		if !ok {
			ps = pool(school)
			pools[school] = ps
		}
		if len(ps) == 0 {
			return ""
		}
		// Upper secondary schools of one district share a pool: start
		// each one elsewhere in it.
		id := ps[(walked[school]+len(ps)*int(school[len(school)-1]-'0')/4)%len(ps)]
		walked[school]++
		g.recs.teacherPosts = append(g.recs.teacherPosts, registry.Official{ID: fmt.Sprintf("of%014x", r.Uint64()>>8), CitizenID: id, AgencyCode: school, Role: role})
		return id
	}
	type open struct{ class, size, n int }
	classes := map[string]*open{}
	for _, pu := range g.recs.pupils {
		var school string
		switch {
		case pu.grade <= 5:
			school = st.ref.primary[pu.commune]
		case pu.grade <= 9:
			school = st.ref.lower[pu.commune]
		default:
			up := st.ref.upper[st.communeDistrict[pu.commune]]
			school = up[r.IntN(len(up))]
		}
		k := fmt.Sprintf("%s|%d", school, pu.grade)
		o := classes[k]
		if o == nil || o.size >= classSize[levels[school]] {
			if o == nil {
				o = &open{}
				classes[k] = o
			} else {
				o.n++
			}
			o.size = 0
			c := registry.Class{SchoolCode: school, SchoolYear: schoolYear, Grade: pu.grade, Name: className(levels[school], pu.grade, o.n)}
			c.ID = registry.ClassID(school, schoolYear, c.Name)
			if walked[school] == 0 {
				post(school, registry.Principal)
				post(school, registry.VicePrincipal)
			}
			c.TeacherCitizenID = post(school, registry.Teacher)
			if o.n%2 == 1 { // and a subject teacher for every two classes
				post(school, registry.Teacher)
			}
			o.class = len(rec.Classes)
			rec.Classes = append(rec.Classes, c)
		}
		o.size++
		rec.Enrolments = append(rec.Enrolments, registry.Enrolment{SchoolYear: schoolYear, CitizenID: pu.citizenID, ClassID: rec.Classes[o.class].ID})
		rec.Guardians = append(rec.Guardians, pu.guardians...)
	}
	g.recs.pupils = nil
	return rec
}

// className names the n-th class (from 0) of a grade: 3A, 3B, ... in
// primary and lower secondary schools, 10A1, 10A2, ... in upper secondary.
func className(level registry.SchoolLevel, grade, n int) string {
	if level == registry.UpperSecondary {
		return fmt.Sprintf("%dA%d", grade, n+1)
	}
	if n < 26 {
		return fmt.Sprintf("%d%c", grade, 'A'+n)
	}
	return fmt.Sprintf("%d%c%d", grade, 'A'+n%26, n/26)
}

// moreOfficials gives the posts of the capabilities (extraRoles, and each
// commune's community technology team) to residents of each agency's unit,
// continuing the walk officials made through them.
func (g *generator) moreOfficials(agencies []registry.Agency) []registry.Official {
	r := g.src.school
	pools := g.pools()
	var out []registry.Official
	for _, a := range agencies {
		roles := extraRoles[a.Code[strings.LastIndexByte(a.Code, '.')+1:]]
		if a.Code[0] == 'X' && strings.HasSuffix(a.Code, ".UBND") {
			roles = append(roles[:len(roles):len(roles)], communeRoles...)
		}
		pool := pools[a.UnitCode]
		for _, role := range roles {
			if len(pool) == 0 {
				break
			}
			i := g.used[a.UnitCode] % len(pool)
			g.used[a.UnitCode]++
			out = append(out, registry.Official{ID: fmt.Sprintf("of%014x", r.Uint64()>>8), CitizenID: pool[i], AgencyCode: a.Code, Role: role})
		}
	}
	return out
}

// dedupeOfficials keeps the first of posts that repeat a person, agency
// and role (a tiny province has few people to go round).
func dedupeOfficials(os []registry.Official) []registry.Official {
	seen := map[string]bool{}
	kept := os[:0]
	for _, o := range os {
		k := o.CitizenID + "|" + o.AgencyCode + "|" + string(o.Role)
		if !seen[k] {
			seen[k] = true
			kept = append(kept, o)
		}
	}
	return kept
}
