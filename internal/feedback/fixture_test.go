package feedback_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/feedback"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

// The fixture province lies where Dak Lak does: two districts split at
// 108.0 E, two communes each; the point 12.68 N, 108.05 E is in 31011.
//
//	lon 107.90 ........ 108.00 ........ 108.20
//	lat 12.80  | 31002          | 31012
//	    12.70  |                |-----------
//	    12.675 |----------------| 31011 (12.68, 108.05)
//	    12.55  | 31001          |
var fixtureUnits = []feedback.Unit{
	{Code: "99", Name: "Tỉnh Thử", Level: feedback.LevelProvince},
	{Code: "990", Name: "Huyện Tây", Level: feedback.LevelDistrict, Parent: "99"},
	{Code: "980", Name: "Huyện Đông", Level: feedback.LevelDistrict, Parent: "99"},
	{Code: "31001", Name: "Xã Nam Tây", Level: feedback.LevelCommune, Parent: "990"},
	{Code: "31002", Name: "Xã Bắc Tây", Level: feedback.LevelCommune, Parent: "990"},
	{Code: "31011", Name: "Phường Nam Đông", Level: feedback.LevelCommune, Parent: "980"},
	{Code: "31012", Name: "Phường Bắc Đông", Level: feedback.LevelCommune, Parent: "980"},
}

func rect(minLon, minLat, maxLon, maxLat float64) []feedback.Polygon {
	return []feedback.Polygon{{feedback.Ring{{minLon, minLat}, {maxLon, minLat}, {maxLon, maxLat}, {minLon, maxLat}, {minLon, minLat}}}}
}

var fixtureOutlines = map[string][]feedback.Polygon{
	"99":    rect(107.9, 12.55, 108.2, 12.8),
	"990":   rect(107.9, 12.55, 108.0, 12.8),
	"980":   rect(108.0, 12.55, 108.2, 12.8),
	"31001": rect(107.9, 12.55, 108.0, 12.675),
	"31002": rect(107.9, 12.675, 108.0, 12.8),
	"31011": rect(108.0, 12.55, 108.2, 12.7),
	"31012": rect(108.0, 12.7, 108.2, 12.8),
}

// units is the registry as feedback sees it.
type units struct{}

func (units) UnitAt(_ context.Context, lat, lon float64) (feedback.Unit, error) {
	for _, u := range fixtureUnits {
		if u.Level != feedback.LevelCommune {
			continue
		}
		r := fixtureOutlines[u.Code][0][0]
		if lon >= r[0][0] && lon < r[1][0] && lat >= r[0][1] && lat < r[2][1] {
			return u, nil
		}
	}
	return feedback.Unit{}, kernel.E(kernel.NotFound, "feedback.error.outside")
}

func (units) Units(context.Context) ([]feedback.Unit, error) { return fixtureUnits, nil }

func (units) Boundaries(context.Context) ([]feedback.Boundary, error) {
	var out []feedback.Boundary
	for _, u := range fixtureUnits {
		out = append(out, feedback.Boundary{Unit: u.Code, Polygons: fixtureOutlines[u.Code]})
	}
	return out, nil
}

var fixtureAgencies = []feedback.Agency{
	{Code: "T99.UBND", Name: "UBND Tỉnh Thử", Kind: "people_committee", Unit: "99"},
	{Code: "T99.XD", Name: "Sở Xây dựng Tỉnh Thử", Kind: "construction", Unit: "99"},
	{Code: "H990.UBND", Name: "UBND Huyện Tây", Kind: "people_committee", Unit: "990"},
	{Code: "H980.UBND", Name: "UBND Huyện Đông", Kind: "people_committee", Unit: "980"},
	{Code: "H990.CA", Name: "Công an Huyện Tây", Kind: "police", Unit: "990"},
	{Code: "H980.CA", Name: "Công an Huyện Đông", Kind: "police", Unit: "980"},
	{Code: "H980.TNMT", Name: "Phòng Tài nguyên và Môi trường Huyện Đông", Kind: "environment", Unit: "980"},
	{Code: "X31001.UBND", Name: "UBND Xã Nam Tây", Kind: "people_committee", Unit: "31001"},
	{Code: "X31002.UBND", Name: "UBND Xã Bắc Tây", Kind: "people_committee", Unit: "31002"},
	{Code: "X31011.UBND", Name: "UBND Phường Nam Đông", Kind: "people_committee", Unit: "31011"},
	{Code: "X31012.UBND", Name: "UBND Phường Bắc Đông", Kind: "people_committee", Unit: "31012"},
}

// Accounts of the fixture: citizens and staff at their posts.
const (
	citizen      = "acc-citizen"
	otherCitizen = "acc-other"
	wardStaff    = "acc-ward"     // X31011.UBND
	wardStaff2   = "acc-ward2"    // X31011.UBND
	envStaff     = "acc-env"      // H980.TNMT
	policeStaff  = "acc-police"   // H980.CA
	districtHead = "acc-district" // H980.UBND
	teamMember   = "acc-team"     // H980.CA, rapid response
	westStaff    = "acc-west"     // X31001.UBND
)

var fixturePosts = map[string]string{
	wardStaff: "X31011.UBND", wardStaff2: "X31011.UBND", envStaff: "H980.TNMT", policeStaff: "H980.CA",
	districtHead: "H980.UBND", teamMember: "H980.CA", westStaff: "X31001.UBND",
}

// roleOf is an account's role at its post.
func roleOf(account string) string {
	if account == teamMember {
		return feedback.RoleRapidResponse
	}
	return "officer"
}

type staff struct{}

func agencyByCode(code string) feedback.Agency {
	for _, a := range fixtureAgencies {
		if a.Code == code {
			return a
		}
	}
	return feedback.Agency{}
}

func (staff) Agencies(context.Context) ([]feedback.Agency, error) { return fixtureAgencies, nil }

func (staff) Posts(_ context.Context, account string) ([]feedback.Post, error) {
	if code, ok := fixturePosts[account]; ok {
		return []feedback.Post{{Agency: agencyByCode(code), Role: roleOf(account)}}, nil
	}
	return nil, nil
}

func (staff) Members(_ context.Context, agency string) ([]feedback.Member, error) {
	var out []feedback.Member
	for acc, code := range fixturePosts {
		if code == agency {
			out = append(out, feedback.Member{AccountID: acc, Name: "Cán bộ " + acc, Role: roleOf(acc)})
		}
	}
	return out, nil
}

func (staff) Person(_ context.Context, account string) (feedback.Person, error) {
	return feedback.Person{CitizenID: "099000000001", Name: "Nguyễn Văn Dân", Phone: "0912345678"}, nil
}

// notices records what reporters were told.
type notices struct {
	mu  sync.Mutex
	got []feedback.Notice
}

func (n *notices) Notify(_ context.Context, _ *db.Tx, x feedback.Notice) error {
	n.mu.Lock()
	n.got = append(n.got, x)
	n.mu.Unlock()
	return nil
}

func (n *notices) templates(account string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, x := range n.got {
		if x.AccountID == account {
			out = append(out, x.Template)
		}
	}
	return out
}

// uses records the data-use log.
type uses struct {
	mu  sync.Mutex
	got []kernel.DataUse
}

func (u *uses) Record(_ context.Context, _ *db.Tx, x kernel.DataUse) error {
	u.mu.Lock()
	u.got = append(u.got, x)
	u.mu.Unlock()
	return nil
}

type env struct {
	t       testing.TB
	ctx     context.Context
	d       *db.DB
	clock   *kernel.ManualClock
	s       *feedback.Service
	notices *notices
	uses    *uses
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, dbtest.Open(t), feedback.Options{})
}

func newEnvOn(t testing.TB, d *db.DB, o feedback.Options) *env {
	t.Helper()
	e := &env{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: d,
		clock: kernel.NewManualClock(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)), notices: &notices{}, uses: &uses{}}
	o.DB, o.Clock, o.Units, o.Staff, o.Notifier, o.UseLog = d, e.clock, units{}, staff{}, e.notices, e.uses
	if o.PublicURL == "" {
		o.PublicURL = "https://civitas.test"
	}
	var err error
	if e.s, err = feedback.New(o); err != nil {
		t.Fatal(err)
	}
	for _, r := range []feedback.Rule{
		{Category: "environment", AgencyKind: "environment", AgencyLevel: feedback.LevelDistrict},
		{Category: "security_order", AgencyKind: "police", AgencyLevel: feedback.LevelDistrict},
		{Category: "urban_infrastructure", AgencyKind: "people_committee", AgencyLevel: feedback.LevelCommune},
		{Category: "land_construction", AgencyKind: "people_committee", AgencyLevel: feedback.LevelDistrict},
	} {
		if err := e.s.SetRule(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// as is ctx with a citizen signed in.
func (e *env) as(account string) context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: account})
}

// official is ctx and the official at their fixture post.
func (e *env) official(account string) (context.Context, feedback.Official) {
	code := fixturePosts[account]
	ctx := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOfficial, ID: account, OnBehalfOf: feedback.ActingFor(code)})
	return ctx, feedback.Official{AccountID: account, Agency: agencyByCode(code), Roles: []string{roleOf(account)}}
}

// submit sends a report at the fixture's point as account ("" anonymous).
func (e *env) submit(account, category string, photos ...[]byte) feedback.Receipt {
	e.t.Helper()
	ctx := e.ctx
	if account != "" {
		ctx = e.as(account)
	}
	rec, err := e.s.Submit(ctx, feedback.Draft{Category: category, Place: feedback.Place{Lat: 12.68, Lon: 108.05},
		Description: "Ổ gà lớn giữa đường, xe máy dễ ngã", Photos: photos}, feedback.Origin{Channel: feedback.ChannelWeb, Addr: "192.0.2.1"})
	if err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	return rec
}

// serve runs the service behind the real router, with /test/login/{id}/{acr}
// to sign in.
func (e *env) serve(t *testing.T) *httptest.Server {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Mount(ws); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}/{acr}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "urn:civitas:acr:" + r.PathValue("acr"), AuthTime: e.clock.Now()}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// browser is a client with cookies that does not follow redirects.
func browser(t *testing.T, srv *httptest.Server, account, acr string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if account != "" {
		res, err := c.Get(srv.URL + "/test/login/" + account + "/" + acr)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	return c
}
