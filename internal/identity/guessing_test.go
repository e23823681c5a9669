package identity_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// stranger is the address of the i-th client of someone guessing.
func stranger(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 51, byte(100 + i/250), byte(i%250 + 1)})
}

// citizenIDs returns n citizen IDs of the demo province.
func (f *fixture) citizenIDs(n int) []string {
	f.t.Helper()
	rows, err := f.db.Query(f.ctx, `SELECT citizen_id FROM persons ORDER BY citizen_id DESC LIMIT ?`, n)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		f.t.Fatalf("%d citizen IDs, want %d", len(ids), n)
	}
	return ids
}

// textsTo returns the texts sent to phone, oldest first.
func (f *fixture) textsTo(phone string) []string {
	f.t.Helper()
	msgs, err := f.outbox.Recent(f.ctx, 10000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Phone == phone {
			out = append(out, msgs[i].Text)
		}
	}
	return out
}

func wantLocked(t *testing.T, err error, most time.Duration) {
	t.Helper()
	wantCode(t, err, kernel.TooManyRequests, "error.identity.locked")
	_, args := kernel.ErrorKey(err)
	if secs, ok := args[0].(int); !ok || secs <= 0 || time.Duration(secs)*time.Second > most {
		t.Fatalf("lock of %v seconds, want 1..%v", args[0], most)
	}
}

// TestStrangersNeverLockOutTheHolder: wrong passwords from strangers'
// clients, 5, 50 and 500 of them, never stop the holder's correct password
// on their own client. From 50 within an hour the holder is asked a code
// texted to their phone as well (and then passes), and is told once, in
// their language and without any secret, that their account is guessed at.
// A stranger's client that keeps guessing is locked out.
func TestStrangersNeverLockOutTheHolder(t *testing.T) {
	f := newFixture(t)
	p := f.adultWithPhone(0)
	a, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: 1, Password: "holder password"})
	if err != nil {
		t.Fatal(err)
	}
	home := netip.MustParseAddr("203.0.113.7")
	login := func(otp string) (identity.Authenticated, error) {
		f.clock.Advance(time.Second) // texts are told apart by their time
		return f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "holder password", OTP: otp, Client: home, Lang: "en"})
	}
	// The holder signs in once in English: their texts come in English.
	if _, err := login(""); err != nil {
		t.Fatal(err)
	}
	alert := f.web.Catalog().T("en", "identity.sms.guessed")
	alerts := func() int {
		n := 0
		for _, m := range f.textsTo(p.Phone) {
			if m == alert {
				n++
			}
		}
		return n
	}
	wrong := 0
	guessTo := func(n int) {
		t.Helper()
		for ; wrong < n; wrong++ {
			_, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: fmt.Sprintf("guess number %d", wrong),
				Client: stranger(wrong / 4)}) // four guesses a client: under its lock
			wantCode(t, err, kernel.Unauthenticated, "error.identity.login_failed")
		}
	}

	t.Run("ok/5 wrong passwords", func(t *testing.T) {
		guessTo(5)
		got, err := login("")
		if err != nil || strings.Join(got.AMR, " ") != "pwd" {
			t.Fatalf("holder after 5 wrong passwords: %v %+v", err, got)
		}
		if alerts() != 0 {
			t.Fatal("the holder was alarmed after 5 wrong passwords")
		}
	})
	for _, n := range []int{50, 500} {
		t.Run(fmt.Sprintf("ok/%d wrong passwords: a texted code as well", n), func(t *testing.T) {
			guessTo(n)
			_, err := login("")
			wantCode(t, err, kernel.Unauthenticated, "error.identity.sms_code_sent")
			if !identity.IsOTPRequired(err) {
				t.Fatal("the form would not ask for the code")
			}
			got, err := login(f.lastCode(p.Phone))
			if err != nil || strings.Join(got.AMR, " ") != "pwd sms" || got.ACR != kernel.ACRLevel1 {
				t.Fatalf("holder with the texted code: %v %+v", err, got)
			}
			if n := alerts(); n != 1 {
				t.Fatalf("%d alerts texted, want exactly 1", n)
			}
		})
	}
	t.Run("ok/the alert tells no secret", func(t *testing.T) {
		if regexp.MustCompile(`[0-9]{3,}`).MatchString(alert) || strings.Contains(alert, p.CitizenID) {
			t.Fatalf("alert %q", alert)
		}
		events, _ := f.svc.History(f.ctx, a.ID, time.Time{}, 200)
		n := 0
		for _, e := range events {
			if e.Kind == "login.guessed" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d login.guessed events in the history, want 1", n)
		}
	})
	t.Run("fail/a texted code works once", func(t *testing.T) {
		_, err := login("")
		wantCode(t, err, kernel.Unauthenticated, "error.identity.sms_code_sent")
		code := f.lastCode(p.Phone)
		if _, err := login(code); err != nil {
			t.Fatal(err)
		}
		_, err = login(code)
		wantCode(t, err, kernel.Unauthenticated, "error.identity.sms_code_wrong")
	})
	t.Run("fail/a stranger's client that keeps guessing is locked out", func(t *testing.T) {
		var err error
		for i := 0; i < 5; i++ {
			_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "one more guess", Client: stranger(999)})
		}
		wantLocked(t, err, time.Minute)
		// Even the right password from that client waits.
		_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "holder password", Client: stranger(999)})
		wantLocked(t, err, time.Minute)
	})
	t.Run("ok/an hour after the last wrong password, the password alone again", func(t *testing.T) {
		f.clock.Advance(61 * time.Minute)
		if got, err := login(""); err != nil || strings.Join(got.AMR, " ") != "pwd" {
			t.Fatalf("%v %+v", err, got)
		}
	})
}

// TestPasswordSprayingLocksTheClient: one client trying passwords against
// many IDs is locked out of every account after 30 failures in ten
// minutes; other clients are not concerned.
func TestPasswordSprayingLocksTheClient(t *testing.T) {
	f := newFixture(t)
	ids := f.citizenIDs(31)
	sprayer := netip.MustParseAddr("192.0.2.66")
	for i, id := range ids[:30] {
		_, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: id, Password: "Password123!", Client: sprayer})
		if kernel.ErrorCode(err) != kernel.Unauthenticated {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	_, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: ids[30], Password: "Password123!", Client: sprayer})
	wantLocked(t, err, 10*time.Minute)

	p := f.adultWithPhone(0)
	if _, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: 1, Password: "a real password"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "a real password", Client: sprayer})
	wantLocked(t, err, 10*time.Minute)
	if _, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "a real password",
		Client: netip.MustParseAddr("192.0.2.67")}); err != nil {
		t.Fatalf("another client: %v", err)
	}
	// An IPv6 client is its /64.
	v6 := func(host string) netip.Addr { return netip.MustParseAddr("2001:db8:1:2::" + host) }
	for i, id := range ids[:30] {
		_, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: id, Password: "Password123!", Client: v6(strconv.Itoa(i + 1))})
		if kernel.ErrorCode(err) != kernel.Unauthenticated {
			t.Fatalf("IPv6 failure %d: %v", i+1, err)
		}
	}
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: ids[30], Password: "Password123!", Client: v6("ffff")})
	wantLocked(t, err, 10*time.Minute)

	f.clock.Advance(10*time.Minute + time.Second)
	if _, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "a real password", Client: sprayer}); err != nil {
		t.Fatalf("ten minutes later: %v", err)
	}
}

// TestSupportPointBudget: a support point's address, where many citizens
// sign in, may fail more often than another client before it is locked out.
func TestSupportPointBudget(t *testing.T) {
	f := newFixture(t, func(o *identity.Options) {
		o.SupportPoints = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
		o.SupportPointBudget = 60
	})
	ids := f.citizenIDs(61)
	for _, tc := range []struct {
		name   string
		client netip.Addr
		budget int
	}{
		{"ok/a support point: 60", netip.MustParseAddr("203.0.113.20"), 60},
		{"ok/another client: 30", netip.MustParseAddr("203.0.114.20"), 30},
		{"ok/a support point as IPv4-mapped IPv6", netip.MustParseAddr("::ffff:203.0.113.21"), 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < tc.budget; i++ {
				_, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: ids[i], Password: "Password123!", Client: tc.client})
				if kernel.ErrorCode(err) != kernel.Unauthenticated {
					t.Fatalf("failure %d: %v", i+1, err)
				}
			}
			_, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: ids[tc.budget], Password: "Password123!", Client: tc.client})
			wantLocked(t, err, 10*time.Minute)
		})
	}
}

// TestActivationCodeStrangers: strangers' wrong activation codes from other
// clients neither spend nor block the holder's code; a client that keeps
// guessing is locked out.
func TestActivationCodeStrangers(t *testing.T) {
	f := newFixture(t)
	police := f.officer(registry.Police, registry.PoliceOfficer, 0)
	p := f.person("unit_code = ? AND birth_date < '1990-01-01' AND citizen_id NOT IN (SELECT citizen_id FROM accounts)", police.Area())
	good := identity.Checks{ChipRead: true, FaceMatch: true, Fingerprint: "match", OfficerAttest: true}
	issued, err := f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: p.CitizenID, Checks: good, Contact: identity.ContactLetter})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		_, err := f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: "AAAA-BBBB-CCCC", Password: "my new password",
			Client: stranger(i / 4)})
		wantCode(t, err, kernel.Invalid, "error.identity.code_wrong")
	}
	for i := 0; i < 5; i++ {
		_, err = f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: "AAAA-BBBB-CCCC", Password: "my new password",
			Client: stranger(500)})
	}
	wantLocked(t, err, time.Minute)
	_, err = f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: issued.Code, Password: "my new password", Client: stranger(500)})
	wantLocked(t, err, time.Minute)
	a, err := f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: issued.Code, Password: "my new password",
		Client: netip.MustParseAddr("203.0.113.7")})
	if err != nil || a.Level != 2 || a.Status != identity.StatusActive {
		t.Fatalf("holder's activation after 105 wrong codes: %v %+v", err, a)
	}
}

// TestGuessingOverHTTP: the login page answers a locked-out client 429 with
// Retry-After, and so does the passkey login (JSON); the holder, on their
// own address, is asked the texted code on the page and gets in.
func TestGuessingOverHTTP(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.web.Handler())
	defer srv.Close()
	f.clock.Set(time.Now())
	ids := f.citizenIDs(31)

	sprayer := f.browser(srv)
	sprayer.from = "192.0.2.66"
	for i, id := range ids[:30] {
		if st, _, _ := sprayer.post("/login", "/login", url.Values{"username": {id}, "password": {"Password123!"}}, false); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, st)
		}
	}
	retryAfter := func(b *browser) int {
		t.Helper()
		n, err := strconv.Atoi(b.header.Get("Retry-After"))
		if err != nil || n <= 0 || n > 600 {
			t.Fatalf("Retry-After %q", b.header.Get("Retry-After"))
		}
		return n
	}
	st, _, body := sprayer.post("/login", "/login", url.Values{"username": {ids[30]}, "password": {"Password123!"}}, false)
	if st != http.StatusTooManyRequests || !strings.Contains(body, `id="login-error"`) {
		t.Fatalf("31st failure: %d", st)
	}
	retryAfter(sprayer)
	tok, c := sprayer.begin("/login", "/login/passkey/begin")
	st, raw := sprayer.postJSON(tok, "/login/passkey/finish", map[string]any{"flow": c.Flow, "credential": map[string]any{"id": "x", "type": "public-key"}})
	if st != http.StatusTooManyRequests || problemOf(t, raw).Code != string(kernel.TooManyRequests) {
		t.Fatalf("passkey login from the locked client: %d %s", st, raw)
	}
	retryAfter(sprayer)

	// The holder of an account guessed at from everywhere.
	p := f.adultWithPhone(0)
	if _, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: 1, Password: "holder password"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		_, _ = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "a guess", Client: stranger(i / 4)})
	}
	holder := f.browser(srv)
	holder.from = "203.0.113.7"
	st, _, body = holder.post("/login", "/login", url.Values{"username": {p.CitizenID}, "password": {"holder password"}}, false)
	if st != http.StatusUnauthorized || !strings.Contains(body, maskedTail(p.Phone)) || !strings.Contains(body, `autocomplete="one-time-code" inputmode="numeric" maxlength="24" required`) {
		t.Fatalf("holder asked for the texted code: %d", st)
	}
	st, loc, _ := holder.post("/login", "/login", url.Values{"username": {p.CitizenID}, "password": {"holder password"}, "otp": {f.lastCode(p.Phone)}}, false)
	if st != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("holder with the code: %d %s", st, loc)
	}
}

// maskedTail is the end of a masked phone number as pages show it.
func maskedTail(phone string) string { return phone[len(phone)-3:] }

// TestRegistrationTexts: one client may start five registrations of an ID
// an hour; the phone gets at most five texts an hour whoever asks, and
// past that the answer stays the same (no lock, nothing to learn), only
// without a text.
func TestRegistrationTexts(t *testing.T) {
	f := newFixture(t)
	p := f.adultWithPhone(0)
	r := identity.Registration{CitizenID: p.CitizenID, FullName: p.FullName, BirthDate: p.BirthDate, Phone: p.Phone}
	for i := 0; i < 7; i++ {
		r.Client = stranger(i)
		pending, err := f.svc.StartRegistration(f.ctx, r)
		if err != nil || pending.Token == "" {
			t.Fatalf("start %d from its own client: %v", i+1, err)
		}
	}
	if n := len(f.textsTo(p.Phone)); n != 5 {
		t.Fatalf("%d texts to the phone, want 5", n)
	}
	r.Client = stranger(100)
	var err error
	for i := 0; i < 6; i++ {
		_, err = f.svc.StartRegistration(f.ctx, r)
	}
	wantLocked(t, err, time.Hour)
	f.clock.Advance(61 * time.Minute)
	r.Client = stranger(200)
	if _, err := f.svc.StartRegistration(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	if n := len(f.textsTo(p.Phone)); n != 6 {
		t.Fatalf("%d texts to the phone an hour later, want 6", n)
	}
}
