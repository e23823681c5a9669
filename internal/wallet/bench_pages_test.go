package wallet_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// BenchmarkWalletPage: GET /wallet of a citizen holding 50 documents, over
// real HTTP through the whole middleware chain, 16 clients (sessions) at
// once on the same 2 cores; reports pages/s and the p50 and p99 latency
// (issue 6: p99 under 50 ms under load).
func BenchmarkWalletPage(b *testing.B) {
	e := newEnv(b)
	box, _ := sealed.New(bytes.Repeat([]byte{3}, sealed.KeySize))
	id, err := identity.New(identity.Options{DB: e.d, Clock: e.clock, Registry: e.reg, Box: box, SMS: noSMS{},
		Password: identity.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	cat, _ := i18n.Load()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	throttle := &identity.Throttle{DB: e.d, Clock: e.clock, MaxFailures: 10, Window: 15 * time.Minute, LockFor: time.Minute, MaxLock: time.Hour}
	if err := e.w.MountPages(wallet.PagesOptions{Web: ws, Accounts: app.WalletAccounts(id), Registry: e.reg, Throttle: throttle, PublicURL: pub.String()}); err != nil {
		b.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "urn:civitas:acr:level2"}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	defer srv.Close()

	p := e.person(0)
	acct, err := id.AddAccount(e.ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: 2, Password: "a long test password 1"})
	if err != nil {
		b.Fatal(err)
	}
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	insurance := e.agency(registry.SocialInsurance)
	for i := range 50 {
		c := healthCard(p)
		c["card_number"] = fmt.Sprintf("DN47979%08d", i)
		if _, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: c}); err != nil {
			b.Fatal(err)
		}
	}
	const clients = 16
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	cs := make([]*http.Client, clients)
	for i := range cs {
		jar, _ := cookiejar.New(nil)
		cs[i] = &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cs[i].Get(srv.URL + "/test/login/" + acct.ID)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	get := func(c *http.Client) (time.Duration, error) {
		start := time.Now()
		resp, err := c.Get(srv.URL + "/wallet")
		if err != nil {
			return 0, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), "/wallet/") < 50 {
			return 0, fmt.Errorf("status %d, %d bytes", resp.StatusCode, len(body))
		}
		return time.Since(start), nil
	}
	if _, err := get(cs[0]); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan struct{}, b.N)
	for range b.N {
		next <- struct{}{}
	}
	close(next)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for range next {
				d, err := get(c)
				if err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
