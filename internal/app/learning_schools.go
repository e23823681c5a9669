package app

import (
	"context"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/learning"
	"civitas/internal/registry"
)

// learningSchools gives learning the registry's schools: a pupil's class
// this school year, the classes a teacher has (their homeroom classes; a
// principal's or vice principal's whole school), rolls and class sizes.
// A school is an agency (kind school) and issues its pupils' certificates.
type learningSchools struct {
	reg   *registry.Service
	d     *db.DB
	clock kernel.Clock

	mu     sync.Mutex
	year   string // the school year with pupils, looked up once a minute
	yearAt time.Time
}

var _ learning.Schools = (*learningSchools)(nil)

// schoolYear is the school year of today, or the latest the registry has
// pupils for (a registry that has not started the new year yet, the demo).
func (s *learningSchools) schoolYear(ctx context.Context) (string, error) {
	now := s.clock.Now()
	s.mu.Lock()
	if s.year != "" && now.Sub(s.yearAt) < time.Minute {
		y := s.year
		s.mu.Unlock()
		return y, nil
	}
	s.mu.Unlock()
	year := registry.SchoolYearOf(now.In(kernel.Zone()).Format(registry.DateLayout))
	ps, err := s.reg.ListPupils(ctx, year, kernel.Page{Limit: 1})
	if err != nil {
		return "", err
	}
	if len(ps) == 0 {
		if ps, err = s.reg.ListPupils(ctx, "", kernel.Page{Limit: 1}); err != nil {
			return "", err
		}
		if len(ps) > 0 {
			year = ps[0].SchoolYear
		}
	}
	s.mu.Lock()
	s.year, s.yearAt = year, now
	s.mu.Unlock()
	return year, nil
}

// rollSizes counts the pupils of a school's classes of a year. The
// registry lists pupils with their guardians, which a count does not need.
func (s *learningSchools) rollSizes(ctx context.Context, school, year string) (map[string]int, error) {
	rows, err := s.d.Query(ctx, `SELECT p.class_id, COUNT(*) FROM school_pupils p JOIN school_classes c ON c.id = p.class_id
		WHERE c.school_code = ? AND c.school_year = ? GROUP BY p.class_id`, school, year)
	if err != nil {
		return nil, kernel.Wrap(err, "app: class sizes")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, kernel.Wrap(err, "app: class sizes")
		}
		out[id] = n
	}
	return out, kernel.Wrap(rows.Err(), "app: class sizes")
}

func (s *learningSchools) classOf(c registry.Class, school string, size int) learning.Class {
	return learning.Class{ID: c.ID, Name: c.Name, Grade: c.Grade, SchoolCode: c.SchoolCode, SchoolName: school, Students: size}
}

func (s *learningSchools) StudentClass(ctx context.Context, citizenID string) (learning.Class, error) {
	year, err := s.schoolYear(ctx)
	if err != nil {
		return learning.Class{}, err
	}
	p, err := s.reg.Pupil(ctx, citizenID, year)
	if err != nil {
		return learning.Class{}, err // NotFound: no pupil this year
	}
	return s.Class(ctx, p.ClassID)
}

func (s *learningSchools) TeacherClasses(ctx context.Context, citizenID string) ([]learning.Class, error) {
	posts, err := s.reg.OfficialsOf(ctx, citizenID)
	if err != nil {
		return nil, err
	}
	year, err := s.schoolYear(ctx)
	if err != nil {
		return nil, err
	}
	var out []learning.Class
	seen := map[string]bool{}
	for _, p := range posts {
		if p.Role != registry.Teacher && p.Role != registry.Principal && p.Role != registry.VicePrincipal {
			continue
		}
		sc, err := s.reg.School(ctx, p.AgencyCode)
		if kernel.ErrorCode(err) == kernel.NotFound {
			continue // a teacher's post at an agency that is no school
		}
		if err != nil {
			return nil, err
		}
		classes, err := s.reg.ClassesOf(ctx, sc.Code, year)
		if err != nil {
			return nil, err
		}
		sizes, err := s.rollSizes(ctx, sc.Code, year)
		if err != nil {
			return nil, err
		}
		for _, c := range classes {
			if (p.Role == registry.Teacher && c.TeacherCitizenID != citizenID) || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			out = append(out, s.classOf(c, sc.Name, sizes[c.ID]))
		}
	}
	return out, nil
}

func (s *learningSchools) Class(ctx context.Context, id string) (learning.Class, error) {
	c, err := s.reg.Class(ctx, id)
	if err != nil {
		return learning.Class{}, err
	}
	sc, err := s.reg.School(ctx, c.SchoolCode)
	if err != nil {
		return learning.Class{}, err
	}
	sizes, err := s.rollSizes(ctx, c.SchoolCode, c.SchoolYear)
	if err != nil {
		return learning.Class{}, err
	}
	return s.classOf(c, sc.Name, sizes[c.ID]), nil
}

func (s *learningSchools) Students(ctx context.Context, classID string) ([]learning.Student, error) {
	ps, err := s.reg.PupilsOf(ctx, classID)
	if err != nil {
		return nil, err
	}
	out := make([]learning.Student, len(ps))
	for i, p := range ps {
		out[i] = learning.Student{CitizenID: p.CitizenID, Name: p.FullName}
	}
	return out, nil
}

func (s *learningSchools) School(ctx context.Context, code string) (learning.School, error) {
	sc, err := s.reg.School(ctx, code)
	if err != nil {
		return learning.School{}, err
	}
	return learning.School{Code: sc.Code, Name: sc.Name, UnitCode: sc.UnitCode, Agency: sc.Code}, nil
}

func (s *learningSchools) Classes(ctx context.Context, schoolCode string) ([]learning.Class, error) {
	sc, err := s.reg.School(ctx, schoolCode)
	if err != nil {
		return nil, err
	}
	year, err := s.schoolYear(ctx)
	if err != nil {
		return nil, err
	}
	classes, err := s.reg.ClassesOf(ctx, schoolCode, year)
	if err != nil {
		return nil, err
	}
	sizes, err := s.rollSizes(ctx, schoolCode, year)
	if err != nil {
		return nil, err
	}
	out := make([]learning.Class, len(classes))
	for i, c := range classes {
		out[i] = s.classOf(c, sc.Name, sizes[c.ID])
	}
	return out, nil
}
