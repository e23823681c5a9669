package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

func wantCode(t *testing.T, err error, code kernel.Code, key string) {
	t.Helper()
	if kernel.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	if k, _ := kernel.ErrorKey(err); key != "" && k != key {
		t.Fatalf("err key = %s, want %s", k, key)
	}
}

func TestRegisterLevel1(t *testing.T) {
	f := newFixture(t)
	p := f.adultWithPhone(0)
	reg := identity.Registration{CitizenID: p.CitizenID, FullName: "  " + strings.ToUpper(p.FullName) + " ", BirthDate: p.BirthDate, Phone: "+84" + p.Phone[1:]}
	pending, err := f.svc.StartRegistration(f.ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	code := f.lastCode(p.Phone)
	if _, err := f.svc.CompleteRegistration(f.ctx, pending.Token, "000000", "a good long password"); err == nil && code != "000000" {
		t.Fatal("wrong code accepted")
	}
	_, err = f.svc.CompleteRegistration(f.ctx, pending.Token, code, "short")
	wantCode(t, err, kernel.Invalid, "error.identity.password_too_short")
	a, err := f.svc.CompleteRegistration(f.ctx, pending.Token, code, "a good long password")
	if err != nil {
		t.Fatal(err)
	}
	if a.Level != 1 || a.Status != identity.StatusActive || a.CitizenID != p.CitizenID {
		t.Fatalf("account = %+v", a)
	}
	// The code is single use.
	_, err = f.svc.CompleteRegistration(f.ctx, pending.Token, code, "a good long password")
	wantCode(t, err, kernel.Invalid, "error.identity.code_wrong")
	f.clock.Advance(time.Second)
	got, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "a good long password"})
	if err != nil || got.ACR != kernel.ACRLevel1 {
		t.Fatalf("login: %v %+v", err, got)
	}
	events, err := f.svc.History(f.ctx, a.ID, time.Time{}, 10)
	if err != nil || len(events) != 2 || events[0].Kind != "login" || events[1].Kind != "account.created" {
		t.Fatalf("history = %+v, %v", events, err)
	}
}

// TestRegisterNoEnumeration: the answer is the same for a match, a mismatch,
// an unknown ID and an ID that already has an account; only a real match
// texts a code, and no code works for the others.
func TestRegisterNoEnumeration(t *testing.T) {
	f := newFixture(t)
	p := f.adultWithPhone(0)
	has := f.adultWithPhone(1)
	if _, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: has.CitizenID, Level: 1, Password: "already registered"}); err != nil {
		t.Fatal(err)
	}
	unknown := "099190999999"
	cases := map[string]identity.Registration{
		"ok/match":         {CitizenID: p.CitizenID, FullName: p.FullName, BirthDate: p.BirthDate, Phone: p.Phone},
		"fail/wrong name":  {CitizenID: p.CitizenID, FullName: "Người Khác", BirthDate: p.BirthDate, Phone: p.Phone},
		"fail/wrong phone": {CitizenID: p.CitizenID, FullName: p.FullName, BirthDate: p.BirthDate, Phone: "0999999999"},
		"fail/unknown id":  {CitizenID: unknown, FullName: p.FullName, BirthDate: p.BirthDate, Phone: "0999999998"},
		"fail/has account": {CitizenID: has.CitizenID, FullName: has.FullName, BirthDate: has.BirthDate, Phone: has.Phone},
		"fail/wrong birth": {CitizenID: p.CitizenID, FullName: p.FullName, BirthDate: "2001-01-01", Phone: p.Phone},
	}
	for name, r := range cases {
		before := f.outboxCount()
		pending, err := f.svc.StartRegistration(f.ctx, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(pending.Token) != 52 || !strings.HasSuffix(pending.MaskedPhone, r.Phone[len(r.Phone)-3:]) {
			t.Fatalf("%s: pending = %+v", name, pending)
		}
		sent := f.outboxCount() - before
		switch name {
		case "ok/match", "fail/has account": // the phone's owner is told
			if sent != 1 {
				t.Fatalf("%s: %d texts", name, sent)
			}
		default:
			if sent != 0 {
				t.Fatalf("%s: %d texts sent for details that do not match", name, sent)
			}
			// Even the right code of the real flow does not open a mismatched one.
			for _, guess := range []string{"000000", "123456"} {
				_, err := f.svc.CompleteRegistration(f.ctx, pending.Token, guess, "a good long password")
				wantCode(t, err, kernel.Invalid, "error.identity.code_wrong")
			}
		}
	}
	_, err := f.svc.StartRegistration(f.ctx, identity.Registration{CitizenID: "12", FullName: "x", BirthDate: "1990-01-01", Phone: "0912345678"})
	wantCode(t, err, kernel.Invalid, "error.identity.bad_citizen_id")
}

func TestRegisterCodeAttemptsAndTexts(t *testing.T) {
	f := newFixture(t)
	p := f.adultWithPhone(0)
	r := identity.Registration{CitizenID: p.CitizenID, FullName: p.FullName, BirthDate: p.BirthDate, Phone: p.Phone}
	pending, err := f.svc.StartRegistration(f.ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	code := f.lastCode(p.Phone)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 0; i < 5; i++ {
		_, err := f.svc.CompleteRegistration(f.ctx, pending.Token, wrong, "a good long password")
		wantCode(t, err, kernel.Invalid, "error.identity.code_wrong")
	}
	_, err = f.svc.CompleteRegistration(f.ctx, pending.Token, code, "a good long password")
	wantCode(t, err, kernel.Invalid, "error.identity.code_wrong") // the flow died after five wrong codes
	// Texts to one ID are limited: a phone cannot be flooded.
	var last error
	for i := 0; i < 6; i++ {
		_, last = f.svc.StartRegistration(f.ctx, r)
	}
	wantCode(t, last, kernel.TooManyRequests, "error.identity.locked")
	// And the code expires.
	f.clock.Advance(2 * time.Hour)
	pending, err = f.svc.StartRegistration(f.ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	code = f.lastCode(p.Phone)
	f.clock.Advance(11 * time.Minute)
	_, err = f.svc.CompleteRegistration(f.ctx, pending.Token, code, "a good long password")
	wantCode(t, err, kernel.Invalid, "error.identity.code_wrong")
}

func TestLoginBruteForceAndTOTP(t *testing.T) {
	f := newFixture(t)
	p := f.adultWithPhone(0)
	a, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: 2, Password: "right password"})
	if err != nil {
		t.Fatal(err)
	}
	// Unknown ID and wrong password give the same answer.
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: "099190999999", Password: "whatever1"})
	wantCode(t, err, kernel.Unauthenticated, "error.identity.login_failed")
	for i := 0; i < 4; i++ {
		_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "wrong password"})
		wantCode(t, err, kernel.Unauthenticated, "error.identity.login_failed")
	}
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "wrong password"})
	wantCode(t, err, kernel.TooManyRequests, "error.identity.locked")
	// Locked: even the right password waits.
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password"})
	wantCode(t, err, kernel.TooManyRequests, "error.identity.locked")
	f.clock.Advance(2 * time.Minute)
	got, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password"})
	if err != nil || got.ACR != kernel.ACRLevel1 {
		t.Fatalf("after lock: %v %+v", err, got)
	}
	// Level 2 needs the second factor.
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password", WantACR: kernel.ACRLevel2})
	wantCode(t, err, kernel.Forbidden, "error.identity.level2_needs_totp")

	setup, err := f.svc.BeginTOTP(f.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret := decodeSecret(t, setup.Text)
	_, err = f.svc.ConfirmTOTP(f.ctx, a.ID, setup.Sealed, "000000x")
	wantCode(t, err, kernel.Unauthenticated, "error.identity.otp_wrong")
	// A setup sealed for another account does not open.
	other, _ := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: f.adultWithPhone(0).CitizenID, Level: 1, Password: "other password"})
	_, err = f.svc.ConfirmTOTP(f.ctx, other.ID, setup.Sealed, identity.TOTPAt(secret, f.clock.Now()))
	wantCode(t, err, kernel.Invalid, "error.identity.totp_setup_bad")
	codes, err := f.svc.ConfirmTOTP(f.ctx, a.ID, setup.Sealed, identity.TOTPAt(secret, f.clock.Now()))
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %v %d", err, len(codes))
	}
	f.clock.Advance(30 * time.Second)
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password"})
	wantCode(t, err, kernel.Unauthenticated, "error.identity.otp_required")
	otp := identity.TOTPAt(secret, f.clock.Now())
	got, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password", OTP: otp, WantACR: kernel.ACRLevel2})
	if err != nil || got.ACR != kernel.ACRLevel2 || strings.Join(got.AMR, " ") != "pwd otp" {
		t.Fatalf("level-2 login: %v %+v", err, got)
	}
	// The same code is never accepted twice (replay).
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password", OTP: otp})
	wantCode(t, err, kernel.Unauthenticated, "error.identity.otp_wrong")
	// A recovery code works once, typed any way.
	rc := strings.ToLower(strings.ReplaceAll(codes[0], "-", " "))
	if _, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password", OTP: rc}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password", OTP: codes[0]})
	wantCode(t, err, kernel.Unauthenticated, "error.identity.otp_wrong")
	if n, _ := f.svc.RecoveryCodesLeft(f.ctx, a.ID); n != 9 {
		t.Fatalf("recovery codes left = %d", n)
	}
	// OTP guesses count towards the lock too.
	for i := 0; i < 5; i++ {
		_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "right password", OTP: "999999"})
	}
	wantCode(t, err, kernel.TooManyRequests, "error.identity.locked")
}

func decodeSecret(t *testing.T, text string) []byte {
	t.Helper()
	s, err := identity.ParseTOTPSecretText(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnrolLevel2(t *testing.T) {
	f := newFixture(t)
	police := f.officer(registry.Police, registry.PoliceOfficer, 0)
	clerk := f.officer(registry.PeopleCommittee, registry.CivilClerk, 0)
	// A resident of the officer's commune without a phone of their own.
	p := f.person("unit_code = ? AND phone = '' AND birth_date < '1990-01-01'", police.Area())
	outside := f.person("unit_code <> ? AND birth_date < '1990-01-01'", police.Area())
	good := identity.Checks{ChipRead: true, ChipSerial: "C123", FaceMatch: true, Fingerprint: "match", OfficerAttest: true}

	_, err := f.svc.Enrol(f.ctx, clerk, identity.Enrolment{CitizenID: p.CitizenID, Checks: good, Contact: identity.ContactLetter})
	wantCode(t, err, kernel.Forbidden, "error.identity.not_officer")
	_, err = f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: outside.CitizenID, Checks: good, Contact: identity.ContactLetter})
	wantCode(t, err, kernel.Forbidden, "error.identity.outside_area")
	bad := good
	bad.FaceMatch = false
	_, err = f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: p.CitizenID, Checks: bad, Contact: identity.ContactLetter})
	wantCode(t, err, kernel.Invalid, "error.identity.checks_failed")
	_, err = f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: p.CitizenID, Checks: good, Contact: identity.ContactRelative, Phone: "0912345678"})
	wantCode(t, err, kernel.Invalid, "error.identity.relative_needed")

	issued, err := f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: p.CitizenID, Checks: good, Contact: identity.ContactLetter})
	if err != nil || issued.Code == "" || issued.Account.Status != identity.StatusPending {
		t.Fatalf("enrol: %v %+v", err, issued)
	}
	figs, err := f.svc.Figures(f.ctx, police.Area())
	if err != nil || len(figs) != 1 || figs[0].Issued != 1 || figs[0].Activated != 0 {
		t.Fatalf("figures = %+v, %v", figs, err)
	}
	// Pending accounts cannot log in.
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "anything at all"})
	wantCode(t, err, kernel.Unauthenticated, "error.identity.login_failed")
	_, err = f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: "AAAA-BBBB-CCCC", Password: "my new password"})
	wantCode(t, err, kernel.Invalid, "error.identity.code_wrong")
	_, err = f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: issued.Code})
	wantCode(t, err, kernel.Invalid, "error.identity.password_needed")
	a, err := f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: strings.ToLower(issued.Code), Password: "my new password"})
	if err != nil || a.Level != 2 || a.Status != identity.StatusActive {
		t.Fatalf("activate: %v %+v", err, a)
	}
	_, err = f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: issued.Code, Password: "my new password"})
	wantCode(t, err, kernel.Invalid, "error.identity.code_wrong")
	figs, _ = f.svc.Figures(f.ctx, police.Area())
	if figs[0].Activated != 1 {
		t.Fatalf("figures after activation = %+v", figs)
	}
	// A district-level view sees the commune; another commune's does not.
	other := f.officer(registry.Police, registry.PoliceOfficer, 5)
	if other.Area() != police.Area() {
		if figs, _ := f.svc.Figures(f.ctx, other.Area()); len(figs) != 0 {
			t.Fatalf("another commune sees %+v", figs)
		}
	}
	_, err = f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: p.CitizenID, Checks: good, Contact: identity.ContactLetter})
	wantCode(t, err, kernel.Conflict, "error.identity.already_level2")

	// Lost phone: a reset code; activating it replaces the password and removes TOTP.
	setup, _ := f.svc.BeginTOTP(f.ctx, a.ID)
	if _, err := f.svc.ConfirmTOTP(f.ctx, a.ID, setup.Sealed, identity.TOTPAt(decodeSecret(t, setup.Text), f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	reset, err := f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: p.CitizenID, Checks: good, Contact: identity.ContactLetter, Reset: true})
	if err != nil {
		t.Fatal(err)
	}
	// Until the reset code is used, the old credentials still work.
	if acc, _ := f.svc.Account(f.ctx, a.ID); !acc.HasTOTP || acc.Status != identity.StatusActive {
		t.Fatalf("account changed before the reset was activated: %+v", acc)
	}
	_, err = f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: reset.Code})
	wantCode(t, err, kernel.Invalid, "error.identity.password_needed")
	if _, err := f.svc.Activate(f.ctx, identity.Activation{CitizenID: p.CitizenID, Code: reset.Code, Password: "brand new password"}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "brand new password"})
	if err != nil || got.Account.HasTOTP {
		t.Fatalf("login after reset: %v %+v", err, got.Account)
	}

	// Disabling: only an officer of the area; a disabled account cannot log in.
	far := f.officer(registry.Police, registry.PoliceOfficer, 7)
	if far.Area() != police.Area() {
		wantCode(t, f.svc.SetStatus(f.ctx, far, p.CitizenID, identity.StatusDisabled), kernel.Forbidden, "error.identity.outside_area")
	}
	if err := f.svc.SetStatus(f.ctx, police, p.CitizenID, identity.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "brand new password"})
	wantCode(t, err, kernel.Unauthenticated, "error.identity.login_failed")
	if err := f.svc.SetStatus(f.ctx, police, p.CitizenID, identity.StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: p.CitizenID, Password: "brand new password"}); err != nil {
		t.Fatal(err)
	}

	// Upgrade of a level-1 account by text to a relative's phone.
	q := f.person("unit_code = ? AND phone <> '' AND birth_date < '1990-01-01' AND citizen_id <> ?", police.Area(), p.CitizenID)
	if _, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: q.CitizenID, Level: 1, Password: "level one pass"}); err != nil {
		t.Fatal(err)
	}
	issued, err = f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: q.CitizenID, Checks: good, Contact: identity.ContactRelative,
		Phone: "0987 654 321", RelativeCitizenID: p.CitizenID})
	if err != nil || issued.Code != "" {
		t.Fatalf("upgrade: %v %+v", err, issued)
	}
	msgs, _ := f.outbox.Recent(f.ctx, 1)
	code := msgs[0].Text[strings.LastIndex(msgs[0].Text, ": ")+2 : len(msgs[0].Text)-1]
	if msgs[0].Phone != "0987654321" {
		t.Fatalf("activation texted to %s", msgs[0].Phone)
	}
	// Before activation the account is still level 1.
	acc, _ := f.svc.AccountByCitizen(f.ctx, q.CitizenID)
	if acc.Level != 1 {
		t.Fatalf("level before activation = %d", acc.Level)
	}
	a, err = f.svc.Activate(f.ctx, identity.Activation{CitizenID: q.CitizenID, Code: code})
	if err != nil || a.Level != 2 {
		t.Fatalf("activate upgrade with %q: %v %+v", code, err, a)
	}
	if _, err := f.svc.Login(f.ctx, identity.Credentials{CitizenID: q.CitizenID, Password: "level one pass"}); err != nil {
		t.Fatalf("password kept: %v", err)
	}
}

func TestGuardiansAndOrganisations(t *testing.T) {
	f := newFixture(t)
	// A parent: an adult sharing a household with a child under 14.
	var parentID, childID string
	err := f.db.QueryRow(f.ctx, `SELECT a.citizen_id, c.citizen_id FROM persons a JOIN persons c ON c.household_id = a.household_id
		WHERE a.birth_date < '1990-01-01' AND a.birth_date > '1960-01-01' AND c.birth_date > '2016-06-01' ORDER BY a.citizen_id LIMIT 1`).Scan(&parentID, &childID)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: parentID, Level: 1, Password: "parent password"})
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.AddDependent(f.ctx, parent.ID, childID)
	wantCode(t, err, kernel.Forbidden, "error.identity.guardian_level2")
	if err := f.db.Update(f.ctx, f.clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(f.ctx, `UPDATE accounts SET level = 2 WHERE id = ?`, parent.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	stranger, _ := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: f.person("household_id <> (SELECT household_id FROM persons WHERE citizen_id = ?) AND birth_date < '1990-01-01'", childID).CitizenID, Level: 2, Password: "stranger password"})
	err = f.svc.AddDependent(f.ctx, stranger.ID, childID)
	wantCode(t, err, kernel.Forbidden, "error.identity.not_your_child")
	if err := f.svc.AddDependent(f.ctx, parent.ID, childID); err != nil {
		t.Fatal(err)
	}
	subj, err := f.svc.ActFor(f.ctx, parent.ID, "person:"+childID)
	if err != nil || subj.ID != childID {
		t.Fatalf("act for: %v %+v", err, subj)
	}
	_, err = f.svc.ActFor(f.ctx, stranger.ID, "person:"+childID)
	wantCode(t, err, kernel.Forbidden, "error.identity.cannot_act_for")
	// The guardian reads the child's entry; the audit log says for whom.
	if _, err := f.svc.DependentProfile(f.ctx, parent.ID, childID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.DependentProfile(f.ctx, stranger.ID, childID)
	wantCode(t, err, kernel.Forbidden, "error.identity.cannot_act_for")
	var actor, purpose string
	if err := f.db.QueryRow(f.ctx, `SELECT actor_id, purpose FROM audit_log WHERE on_behalf_of = ? AND action = 'registry.person.read'`,
		"person:"+childID).Scan(&actor, &purpose); err != nil || actor != parent.ID || purpose != "guardian" {
		t.Fatalf("audit of the guardian's read: %v %s %s", err, actor, purpose)
	}
	// At 14 the child leaves the guardian's account.
	child, _ := f.reg.Person(f.ctx, childID)
	born, _ := child.Born()
	f.clock.Set(born.AddDate(14, 0, 1))
	_, err = f.svc.ActFor(f.ctx, parent.ID, "person:"+childID)
	wantCode(t, err, kernel.Forbidden, "error.identity.cannot_act_for")

	// Organisations: only the business registry's legal representative opens one.
	var reg, rep string
	if err := f.db.QueryRow(f.ctx, `SELECT reg_number, legal_rep_citizen_id FROM businesses ORDER BY reg_number LIMIT 1`).Scan(&reg, &rep); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RegisterOrganisation(f.ctx, parent.ID, reg)
	wantCode(t, err, kernel.Forbidden, "error.identity.not_legal_rep")
	repAcc, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: rep, Level: 2, Password: "representative pw"})
	if err != nil {
		t.Fatal(err)
	}
	org, err := f.svc.RegisterOrganisation(f.ctx, repAcc.ID, reg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RegisterOrganisation(f.ctx, repAcc.ID, reg)
	wantCode(t, err, kernel.Conflict, "error.identity.org_exists")
	err = f.svc.AddMember(f.ctx, parent.ID, org.ID, stranger.CitizenID)
	wantCode(t, err, kernel.Forbidden, "error.identity.not_representative")
	if err := f.svc.AddMember(f.ctx, repAcc.ID, org.ID, stranger.CitizenID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ActFor(f.ctx, stranger.ID, "org:"+org.ID); err != nil {
		t.Fatalf("member acts for org: %v", err)
	}
	_, err = f.svc.Members(f.ctx, stranger.ID, org.ID)
	wantCode(t, err, kernel.Forbidden, "error.identity.not_representative")
	if err := f.svc.RemoveMember(f.ctx, repAcc.ID, org.ID, stranger.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ActFor(f.ctx, stranger.ID, "org:"+org.ID)
	wantCode(t, err, kernel.Forbidden, "error.identity.cannot_act_for")
	err = f.svc.RemoveMember(f.ctx, repAcc.ID, org.ID, repAcc.ID)
	wantCode(t, err, kernel.NotFound, "error.identity.member_not_found")
}

// Confirming an act (approving signatures) with a one-time code: wrong codes
// lock the confirmation after five, a code works once, and an account
// without an authenticator app is told to set one up.
func TestConfirmWithTOTP(t *testing.T) {
	f := newFixture(t)
	a, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: f.adultWithPhone(0).CitizenID, Level: 2, Password: "right password"})
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.ConfirmWithTOTP(f.ctx, a.ID, "123456", "signing.approve", nil)
	wantCode(t, err, kernel.Forbidden, "error.identity.confirm_needs_totp")
	setup, _ := f.svc.BeginTOTP(f.ctx, a.ID)
	secret := decodeSecret(t, setup.Text)
	if _, err := f.svc.ConfirmTOTP(f.ctx, a.ID, setup.Sealed, identity.TOTPAt(secret, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Second)
	code := identity.TOTPAt(secret, f.clock.Now())
	if err := f.svc.ConfirmWithTOTP(f.ctx, a.ID, code, "signing.approve", map[string]string{"request": "r1"}); err != nil {
		t.Fatal(err)
	}
	err = f.svc.ConfirmWithTOTP(f.ctx, a.ID, code, "signing.approve", nil)
	wantCode(t, err, kernel.Unauthenticated, "error.identity.otp_wrong")
	for i := 0; i < 4; i++ {
		err = f.svc.ConfirmWithTOTP(f.ctx, a.ID, "000000", "signing.approve", nil)
	}
	wantCode(t, err, kernel.TooManyRequests, "error.identity.locked")
	f.clock.Advance(30 * time.Second)
	err = f.svc.ConfirmWithTOTP(f.ctx, a.ID, identity.TOTPAt(secret, f.clock.Now()), "signing.approve", nil)
	wantCode(t, err, kernel.TooManyRequests, "error.identity.locked")
	events, _ := f.svc.History(f.ctx, a.ID, time.Time{}, 20)
	n := 0
	for _, e := range events {
		if e.Kind == "signing.approve" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d approvals in the history, want 1", n)
	}
}

// TestOfficerActsOnlyAtLevel2: enrolment and every other act of an officer
// on someone's account need a level-2 login, in the service itself and not
// only in the pages: an officer whose session is level 1, or whose
// assurance nobody passed, is refused.
func TestOfficerActsOnlyAtLevel2(t *testing.T) {
	f := newFixture(t)
	police := f.officer(registry.Police, registry.PoliceOfficer, 0)
	p := f.person("unit_code = ? AND birth_date < '1990-01-01' AND citizen_id NOT IN (SELECT citizen_id FROM accounts)", police.Area())
	good := identity.Checks{ChipRead: true, FaceMatch: true, Fingerprint: "match", OfficerAttest: true}
	for _, acr := range []string{kernel.ACRLevel1, ""} {
		o := police
		o.ACR = acr
		for name, act := range map[string]func() error{
			"enrol": func() error {
				_, err := f.svc.Enrol(f.ctx, o, identity.Enrolment{CitizenID: p.CitizenID, Checks: good, Contact: identity.ContactLetter})
				return err
			},
			"look up":    func() error { _, _, err := f.svc.LookUp(f.ctx, o, p.CitizenID); return err },
			"set status": func() error { return f.svc.SetStatus(f.ctx, o, p.CitizenID, identity.StatusDisabled) },
			"record guardian": func() error {
				return f.svc.RecordGuardian(f.ctx, o, p.CitizenID, p.CitizenID, "grandparent")
			},
		} {
			t.Run("fail/"+name+" at "+acr, func(t *testing.T) {
				wantCode(t, act(), kernel.Forbidden, "error.identity.officer_level2")
			})
		}
	}
	if f.count(`SELECT COUNT(*) FROM enrolments`) != 0 || f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'registry.person.read'`) != 0 {
		t.Fatal("a refused officer left a trace of an act")
	}
	// At level 2 the same officer enrols, and the audit log names them as an
	// official acting for their agency.
	if _, err := f.svc.Enrol(kernel.WithActor(f.ctx, police.Actor()), police, identity.Enrolment{CitizenID: p.CitizenID, Checks: good,
		Contact: identity.ContactLetter}); err != nil {
		t.Fatal(err)
	}
	var kind, onBehalf string
	if err := f.db.QueryRow(f.ctx, `SELECT actor_kind, on_behalf_of FROM audit_log WHERE action = 'identity.enrol'`).Scan(&kind, &onBehalf); err != nil ||
		kind != string(kernel.ActorOfficial) || onBehalf != "agency:"+police.Agency.Code {
		t.Fatalf("audit of the enrolment: %v %s %s", err, kind, onBehalf)
	}
}

// dataUses is the data-use log as the e-ID writes to it.
type dataUses struct{ got []kernel.DataUse }

func (u *dataUses) Record(_ context.Context, _ *db.Tx, d kernel.DataUse) error {
	u.got = append(u.got, d)
	return nil
}

// TestDeskLookUpIsInTheDataUseLog: an officer's look-up of a person at the
// enrolment desk is a read of that person's data by someone else, which the
// person sees; a refused look-up is not.
func TestDeskLookUpIsInTheDataUseLog(t *testing.T) {
	uses := &dataUses{}
	f := newFixture(t, func(o *identity.Options) { o.UseLog = uses })
	police := f.officer(registry.Police, registry.PoliceOfficer, 0)
	p := f.person("unit_code = ?", police.Area())
	police.ACR = kernel.ACRLevel1
	if _, _, err := f.svc.LookUp(f.ctx, police, p.CitizenID); err == nil || len(uses.got) != 0 {
		t.Fatalf("a refused look-up: %v %+v", err, uses.got)
	}
	police.ACR = kernel.ACRLevel2
	if _, _, err := f.svc.LookUp(kernel.WithActor(f.ctx, police.Actor()), police, p.CitizenID); err != nil {
		t.Fatal(err)
	}
	if len(uses.got) != 1 || uses.got[0].Subject != p.CitizenID || uses.got[0].Agency != police.Agency.Code ||
		uses.got[0].Channel != "desk" || uses.got[0].Purpose != "identity_verification" || uses.got[0].Reader != police.Actor() {
		t.Fatalf("data-use log: %+v", uses.got)
	}
}
