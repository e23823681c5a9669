package learning

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// People is what learning reads of the registries: a learner's entry in
// the population registry (name, commune) and an agency (a certificate's
// issuer). *registry.Service has both.
type People interface {
	Person(ctx context.Context, citizenID string) (registry.Person, error)
	Agency(ctx context.Context, code string) (registry.Agency, error)
}

// School is a school of the registry.
type School struct {
	Code     string
	Name     string
	UnitCode string // its commune
	// Agency is the code of the agency that issues the school's
	// certificates (the school itself, when the registry lists it as an
	// agency), or "" for the provincial education department.
	Agency string
}

// Class is a class of a school, in a school year.
type Class struct {
	ID         string
	Name       string // "10A1"
	Grade      int
	SchoolCode string
	SchoolName string
	Students   int // on its roll
}

// Student is a pupil on a class's roll.
type Student struct {
	CitizenID string
	Name      string
}

// Schools is what learning reads of the registry's schools: whose class a
// student is in, the classes a teacher teaches, a class's roll, a school's
// classes. A learner who is no student gets a NotFound from StudentClass.
type Schools interface {
	StudentClass(ctx context.Context, citizenID string) (Class, error)
	TeacherClasses(ctx context.Context, citizenID string) ([]Class, error)
	Class(ctx context.Context, id string) (Class, error)
	Students(ctx context.Context, classID string) ([]Student, error)
	School(ctx context.Context, code string) (School, error)
	Classes(ctx context.Context, schoolCode string) ([]Class, error)
}

// Account is a signed-in e-ID account.
type Account struct {
	ID        string
	CitizenID string
	Active    bool
}

// Dependent is a child an account is guardian of.
type Dependent struct {
	CitizenID string
	Name      string
}

// Accounts is the e-ID as the pages need it.
type Accounts interface {
	Account(ctx context.Context, accountID string) (Account, error)
	Dependents(ctx context.Context, accountID string) ([]Dependent, error)
}

// Post is an official's post at an agency.
type Post struct {
	AgencyCode string
	AgencyName string
	UnitCode   string // where the agency serves
	// Trainer: the post may schedule community classes and mark people
	// trained in its unit (a commune's technology team).
	Trainer bool
	// Author: the post may import question banks into courses (the
	// provincial education department).
	Author bool
}

// Officials gives the posts of a signed-in official.
type Officials interface {
	Posts(ctx context.Context, accountID string) ([]Post, error)
}

// Certificates issues a course certificate (the wallet's course_certificate
// type) into a person's wallet as agency, returning the document's ID.
type Certificates interface {
	IssueCertificate(ctx context.Context, agency, citizenID string, claims map[string]any) (string, error)
}

// UseLog records a read of a person's data by someone else.
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Options configure the service.
type Options struct {
	DB     *db.DB
	Clock  kernel.Clock
	People People
	// Accounts tells whose account acts: a learner acts for themself and,
	// as guardian, for their children under 14.
	Accounts Accounts
	// Schools gives the schools, classes and rolls; nil turns the
	// teachers' pages off.
	Schools Schools
	// Officials gives officials' posts: technology teams schedule
	// community classes; nil turns those pages off.
	Officials Officials
	// Certificates issues certificates; nil leaves passed courses without one.
	Certificates Certificates
	// Department is the agency that issues the certificates of learners
	// who are not at a school with an agency of its own: the provincial
	// education department.
	Department string
	UseLog     UseLog
	Logger     *slog.Logger
}

// Service is the digital-literacy platform.
type Service struct {
	o      Options
	qcache *questionCache // questions of attempts, by course and ID
}

// New checks o and makes the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil || o.People == nil || o.Accounts == nil || o.UseLog == nil {
		return nil, errors.New("learning: DB, Clock, People, Accounts and UseLog are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, qcache: &questionCache{}}, nil
}

// now is the service's clock, truncated to what the database keeps.
func (s *Service) now() time.Time { return s.o.Clock.Now().Truncate(time.Microsecond) }

// actsFor checks that the actor in ctx may act as the learner: the
// learner's own account, their guardian acting for them, or the system
// and operators (demo data, imports). Anyone else is Forbidden.
func (s *Service) actsFor(ctx context.Context, learner string) error {
	a := kernel.ActorFrom(ctx)
	switch a.Kind {
	case kernel.ActorSystem, kernel.ActorOperator:
		return nil
	case kernel.ActorCitizen:
		acct, err := s.o.Accounts.Account(ctx, a.ID)
		if err != nil {
			return err
		}
		if !acct.Active {
			return kernel.E(kernel.Unauthenticated, "error.unauthenticated")
		}
		if acct.CitizenID == learner {
			return nil
		}
		deps, err := s.o.Accounts.Dependents(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if d.CitizenID == learner {
				return nil
			}
		}
	}
	return kernel.E(kernel.Forbidden, "learning.error.not_your_learner")
}
