package app

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/edoc"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/pdf/pdftest"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/web"
)

// edocPeople are a commune's drafter, leader and clerk, and its district's
// clerk, each with an account; the leader holds an active official
// credential at the commune's committee.
type edocPeople struct {
	agency, district             string
	drafter, leader, clerk, dclk string
	leaderSecret                 []byte
}

func edocSetUp(t *testing.T, a *App) edocPeople {
	t.Helper()
	ctx := kernel.WithActor(context.Background(), kernel.System("test"))
	var offs []registry.Official
	for after := ""; ; {
		page, err := a.registry.ListOfficials(ctx, kernel.Page{After: after, Limit: kernel.MaxPageLimit})
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, page...)
		if len(page) < kernel.MaxPageLimit {
			break
		}
		after = page[len(page)-1].ID
	}
	by := map[string]map[registry.Role]string{}
	for _, o := range offs {
		if by[o.AgencyCode] == nil {
			by[o.AgencyCode] = map[registry.Role]string{}
		}
		if by[o.AgencyCode][o.Role] == "" {
			by[o.AgencyCode][o.Role] = o.CitizenID
		}
	}
	var p edocPeople
	used := map[string]bool{}
	for code, roles := range by {
		if !strings.HasPrefix(code, "X") || !strings.HasSuffix(code, ".UBND") || roles[registry.Chairman] == "" || roles[registry.Specialist] == "" || roles[registry.RecordsClerk] == "" {
			continue
		}
		ag, _ := a.registry.Agency(ctx, code)
		u, _ := a.registry.Unit(ctx, ag.UnitCode)
		dist, err := a.registry.AgencyServing(ctx, registry.PeopleCommittee, u.ParentCode)
		if err != nil || by[dist.Code][registry.RecordsClerk] == "" {
			continue
		}
		cits := []string{roles[registry.Specialist], roles[registry.Chairman], roles[registry.RecordsClerk], by[dist.Code][registry.RecordsClerk]}
		dup := false
		for _, c := range cits {
			dup = dup || used[c]
		}
		if dup || cits[0] == cits[1] || cits[1] == cits[2] || cits[0] == cits[2] {
			continue
		}
		p.agency, p.district = code, dist.Code
		ids := make([]string, 4)
		for i, c := range cits {
			acct, err := a.identity.AddAccount(ctx, identity.NewAccount{CitizenID: c, Level: 2, Password: "edoc test password"})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = acct.ID
		}
		p.drafter, p.leader, p.clerk, p.dclk = ids[0], ids[1], ids[2], ids[3]
		break
	}
	if p.agency == "" {
		t.Fatal("no commune with a drafter, a leader and a clerk")
	}
	// The leader's authenticator and official credential.
	setup, err := a.identity.BeginTOTP(ctx, p.leader)
	if err != nil {
		t.Fatal(err)
	}
	p.leaderSecret, _ = identity.ParseTOTPSecretText(setup.Text)
	if _, err := a.identity.ConfirmTOTP(ctx, p.leader, setup.Sealed, identity.TOTPAt(p.leaderSecret, time.Now().Add(-30*time.Second))); err != nil {
		t.Fatal(err)
	}
	leader, _ := a.identity.Account(ctx, p.leader)
	ag, _ := a.registry.Agency(ctx, p.agency)
	cred, err := a.signing.EnrolOfficial(ctx, p.leader, leader.CitizenID, ag.UnitCode, p.agency)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.signing.Activate(ctx, p.leader, cred.ID, identity.TOTPAt(p.leaderSecret, time.Now())); err != nil {
		t.Fatal(err)
	}
	return p
}

func actingAs(acct, agency string) context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOfficial, ID: acct, OnBehalfOf: "agency:" + agency})
}

// TestEdocSignSealSendReceive: in the demo province a commune's drafter
// drafts, the chairman approves a batch of two with one code (remote
// signing with the official credential), the clerk registers (sealed by
// the agency) and sends; the district's register takes the envelope in;
// pdfsig finds both signatures valid and trusted; the pages answer.
func TestEdocSignSealSendReceive(t *testing.T) {
	// Served on its public URL: pdfsig fetches what the certificates point to.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), base, true, 300
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.web.HandleFunc("GET /test/edoc-login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.web.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: kernel.ACRLevel2, AuthTime: time.Now()}); err != nil {
			a.web.Error(w, r, err)
		}
	})
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p := edocSetUp(t, a)
	drafter, leader, clerk := actingAs(p.drafter, p.agency), actingAs(p.leader, p.agency), actingAs(p.clerk, p.agency)
	var items []edoc.Approval
	for _, subj := range []string{"Về việc triển khai chữ ký số", "Kế hoạch chuyển đổi số năm 2027"} {
		d, err := a.edoc.Create(drafter, edoc.Draft{Agency: p.agency, Type: "CV", Subject: subj, Recipients: []edoc.Recipient{{Agency: p.district}},
			Main: edoc.File{Name: "cv.pdf", Data: append(pdftest.Tiny(), "% "+subj+"\n"...)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.edoc.Submit(drafter, d.ID, p.leader); err != nil {
			t.Fatal(err)
		}
		items = append(items, edoc.Approval{ID: d.ID, Version: d.Version})
	}
	if err := a.edoc.Approve(leader, p.agency, items, identity.TOTPAt(p.leaderSecret, time.Now().Add(30*time.Second))); err != nil {
		t.Fatal(err)
	}
	d, err := a.edoc.Register(clerk, items[0].ID)
	if err != nil || d.Symbol != "1/UBND-VP" || d.Version != 3 {
		t.Fatalf("register: %+v %v", d, err)
	}
	envs, err := a.edoc.Send(clerk, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.edoc.DeliverDue(context.Background(), "test", 10); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	ms, err := a.edoc.Statuses(clerk, envs[0])
	if err != nil || len(ms) != 1 || ms[0].Code != edoc.StatusArrived {
		t.Fatalf("statuses %+v, %v", ms, err)
	}
	// The district's clerk finds it in the register's inbox.
	dclerk := actingAs(p.dclk, p.district)
	inbox, err := a.edoc.Inbox(dclerk, p.district)
	var in []edoc.Waiting
	for _, w := range inbox {
		if w.FromAgency == p.agency && w.Kind == "register" {
			in = append(in, w)
		}
	}
	if err != nil || len(in) != 1 {
		t.Fatalf("district inbox %+v, %v", inbox, err)
	}
	f, err := a.edoc.MainFile(dclerk, in[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// The other commune staff's agency sees nothing of it.
	if _, err := a.edoc.MainFile(drafter, in[0].ID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("the sender's drafter read the recipient's copy: %v", err)
	}
	checkPDFSig(t, a, f.Data, 2)

	// The pages answer: no session, a redirect to log in.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer func() {
		for _, path := range []string{"/edoc", "/edoc/sign", "/edoc/supervise"} {
			resp, err := client.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("%s without a session: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}()
	// With a level-2 session, each page renders (the templates are
	// exercised here, not only in the browser test).
	for _, tc := range []struct {
		acct, agency, path, want string
	}{
		{p.leader, p.agency, "/edoc/sign?agency=" + p.agency, `id="edoc-empty"`},
		{p.leader, p.agency, "/edoc?agency=" + p.agency, `id="edoc-new"`},
		{p.leader, p.agency, "/edoc/supervise?agency=" + p.agency + "&days=7", `id="edoc-agencies"`},
		{p.leader, p.agency, "/edoc/supervise/chart.svg?agency=" + p.agency, `<svg `},
		{p.clerk, p.agency, "/edoc/d/" + items[1].ID + "?agency=" + p.agency, `id="edoc-register"`},
		{p.dclk, p.district, "/edoc?agency=" + p.district, "Về việc triển khai chữ ký số"},
		{p.dclk, p.district, "/edoc/d/" + in[0].ID + "?agency=" + p.district + "&lang=en", `id="edoc-register"`},
		{p.dclk, p.district, "/edoc/d/" + in[0].ID + "?agency=" + p.district + "&lang=ar", `dir="rtl"`},
	} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: client.CheckRedirect}
		resp, err := c.Get(base + "/test/edoc-login/" + tc.acct)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = c.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), tc.want) || strings.Contains(string(b), "edoc.") && !strings.Contains(tc.path, ".svg") && strings.Contains(string(b), ">edoc.") {
			t.Errorf("%s: %d %.600s", tc.path, resp.StatusCode, b)
		}
	}
	// The dashboards' feed: edoc's tallies match a recount from its tables.
	rows, err := a.edoc.Recount(context.Background())
	if err != nil || len(rows) == 0 {
		t.Fatalf("edoc recount: %v %v", rows, err)
	}
	if diffs, err := a.stats.Rebuild(context.Background(), false); err != nil || len(diffs) != 0 {
		t.Fatalf("stats rebuild after documents signed and sent: %v %v", diffs, err)
	}
}

// checkPDFSig has poppler's pdfsig check the signatures of a document,
// trusting this installation's root.
func checkPDFSig(t *testing.T, a *App, doc []byte, want int) {
	t.Helper()
	for _, tool := range []string{"pdfsig", "certutil"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed, and CI must have it", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	root, err := a.pki.CA(pki.Root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file, rootPEM, nss := filepath.Join(dir, "doc.pdf"), filepath.Join(dir, "root.pem"), filepath.Join(dir, "nss")
	_ = os.WriteFile(file, doc, 0o600)
	_ = os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}), 0o600)
	_ = os.Mkdir(nss, 0o700)
	for _, args := range [][]string{{"-N", "-d", "sql:" + nss, "--empty-password"}, {"-A", "-d", "sql:" + nss, "-n", "root", "-t", "CT,C,C", "-i", rootPEM}} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil: %v\n%s", err, out)
		}
	}
	out, _ := exec.Command("pdfsig", "-nssdir", "sql:"+nss, file).CombinedOutput()
	if n := bytes.Count(out, []byte("Signature is Valid.")); n != want {
		t.Errorf("pdfsig: %d valid signatures, want %d:\n%s", n, want, out)
	}
	if n := bytes.Count(out, []byte("Certificate is Trusted.")); n != want {
		t.Errorf("pdfsig: %d trusted, want %d:\n%s", n, want, out)
	}
}
