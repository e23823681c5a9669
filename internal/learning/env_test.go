package learning

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// env is the service on a real database with the demo province, and small
// stand-ins for the e-ID, the schools and the wallet.
type env struct {
	t        testing.TB
	ctx      context.Context
	d        *db.DB
	clock    *kernel.ManualClock
	reg      *registry.Service
	s        *Service
	accounts *fakeAccounts
	schools  *fakeSchools
	certs    *fakeCertificates
	uses     *recordingUseLog
	officers *fakeOfficials
	persons  []registry.Person // adults (18-60), then children under 14, by citizen ID
	children []registry.Person
	teens    []registry.Person // 14 to 17
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvSized(t, 400)
}

func newEnvSized(t testing.TB, persons int) *env {
	t.Helper()
	e := &env{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: dbtest.Open(t),
		clock: kernel.NewManualClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))}
	if _, err := demo.Load(e.ctx, e.d, demo.Options{Persons: persons, Seed: 3, Clock: e.clock}); err != nil {
		t.Fatal(err)
	}
	e.reg = registry.New(e.d, e.clock)
	e.accounts = &fakeAccounts{accounts: map[string]Account{}, deps: map[string][]Dependent{}}
	e.schools = &fakeSchools{classes: map[string]Class{}, rolls: map[string][]Student{}, teaches: map[string][]string{}, schools: map[string]School{}}
	e.certs = &fakeCertificates{}
	e.uses = &recordingUseLog{}
	e.officers = &fakeOfficials{posts: map[string][]Post{}}
	var err error
	e.s, err = New(Options{DB: e.d, Clock: e.clock, People: e.reg, Accounts: e.accounts, Schools: e.schools, Officials: e.officers,
		Certificates: e.certs, Department: "T99.UBND", UseLog: e.uses})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.EnsureBuiltin(e.ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := e.reg.ListPersons(e.ctx, kernel.Page{Limit: kernel.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		switch age := p.AgeOn(e.clock.Now()); {
		case age >= 18 && age <= 60:
			e.persons = append(e.persons, p)
		case age >= 14 && age < 18:
			e.teens = append(e.teens, p)
		case age >= 6 && age < 14:
			e.children = append(e.children, p)
		}
	}
	if len(e.persons) < 6 || len(e.children) < 2 || len(e.teens) < 2 {
		t.Fatalf("demo too small: %d adults, %d teens, %d children", len(e.persons), len(e.teens), len(e.children))
	}
	return e
}

// as is ctx with the account of citizenID (made on first use) as actor.
func (e *env) as(citizenID string) context.Context {
	id := "acct-" + citizenID
	e.accounts.mu.Lock()
	if _, ok := e.accounts.accounts[id]; !ok {
		e.accounts.accounts[id] = Account{ID: id, CitizenID: citizenID, Active: true}
	}
	e.accounts.mu.Unlock()
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: id})
}

type fakeAccounts struct {
	mu       sync.Mutex
	accounts map[string]Account
	deps     map[string][]Dependent
}

func (f *fakeAccounts) Account(_ context.Context, id string) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[id]
	if !ok {
		return Account{}, kernel.E(kernel.NotFound, "error.not_found")
	}
	return a, nil
}

func (f *fakeAccounts) Dependents(_ context.Context, id string) ([]Dependent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deps[id], nil
}

type fakeSchools struct {
	mu      sync.Mutex
	schools map[string]School
	classes map[string]Class
	rolls   map[string][]Student
	teaches map[string][]string // teacher citizen ID -> class IDs
}

// addClass puts students on a new class's roll, taught by teacher.
func (f *fakeSchools) addClass(school School, id, teacher string, students []registry.Person) Class {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.schools[school.Code] = school
	c := Class{ID: id, Name: "Lớp " + id, Grade: 10, SchoolCode: school.Code, SchoolName: school.Name, Students: len(students)}
	f.classes[id] = c
	for _, p := range students {
		f.rolls[id] = append(f.rolls[id], Student{CitizenID: p.CitizenID, Name: p.FullName})
	}
	f.teaches[teacher] = append(f.teaches[teacher], id)
	return c
}

func (f *fakeSchools) StudentClass(_ context.Context, citizenID string) (Class, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.rolls))
	for id := range f.rolls {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for _, s := range f.rolls[id] {
			if s.CitizenID == citizenID {
				return f.classes[id], nil
			}
		}
	}
	return Class{}, kernel.E(kernel.NotFound, "learning.error.no_class")
}

func (f *fakeSchools) TeacherClasses(_ context.Context, citizenID string) ([]Class, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Class
	for _, id := range f.teaches[citizenID] {
		out = append(out, f.classes[id])
	}
	return out, nil
}

func (f *fakeSchools) Class(_ context.Context, id string) (Class, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.classes[id]
	if !ok {
		return Class{}, kernel.E(kernel.NotFound, "learning.error.no_class")
	}
	return c, nil
}

func (f *fakeSchools) Students(_ context.Context, classID string) ([]Student, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Student(nil), f.rolls[classID]...), nil
}

func (f *fakeSchools) School(_ context.Context, code string) (School, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.schools[code]
	if !ok {
		return School{}, kernel.E(kernel.NotFound, "learning.error.no_school")
	}
	return s, nil
}

func (f *fakeSchools) Classes(_ context.Context, code string) ([]Class, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Class
	for _, c := range f.classes {
		if c.SchoolCode == code {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Class) int { return compareStrings(a.ID, b.ID) })
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type issued struct {
	agency, citizen string
	claims          map[string]any
}

type fakeCertificates struct {
	mu     sync.Mutex
	issued []issued
	fail   bool
}

func (f *fakeCertificates) IssueCertificate(_ context.Context, agency, citizenID string, claims map[string]any) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return "", fmt.Errorf("the wallet is down")
	}
	f.issued = append(f.issued, issued{agency, citizenID, claims})
	return "doc-" + strconv.Itoa(len(f.issued)), nil
}

type recordingUseLog struct {
	mu   sync.Mutex
	uses []kernel.DataUse
	fail error // when set, Record refuses
}

func (r *recordingUseLog) Record(_ context.Context, _ *db.Tx, u kernel.DataUse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.uses = append(r.uses, u)
	return nil
}

func (r *recordingUseLog) count(subject string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.uses {
		if u.Subject == subject {
			n++
		}
	}
	return n
}

type fakeOfficials struct {
	mu    sync.Mutex
	posts map[string][]Post
}

func (f *fakeOfficials) Posts(_ context.Context, accountID string) ([]Post, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts[accountID], nil
}

// rightAnswers fills an attempt's form with the right answer to every
// question.
func rightAnswers(t testing.TB, a storedAttempt) Answers {
	t.Helper()
	form := Answers{}
	for i, it := range a.Items {
		for k, v := range rightForm(it, "a"+strconv.Itoa(i+1)) {
			form[k] = v
		}
	}
	return form
}

// attempt reads an attempt as stored.
func (e *env) attempt(id string) storedAttempt {
	e.t.Helper()
	a, err := e.s.loadAttempt(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// readAll marks every lesson of a course read for learner.
func (e *env) readAll(ctx context.Context, learner, course string) {
	e.t.Helper()
	_, lessons, err := e.s.Course(e.ctx, course)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range lessons {
		if err := e.s.MarkRead(ctx, learner, course, l.Slug); err != nil {
			e.t.Fatal(err)
		}
	}
}

// keyOf is an error's message key.
func keyOf(err error) string {
	k, _ := kernel.ErrorKey(err)
	return k
}
