package identity_test

import (
	"testing"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// BenchmarkEnrolAndActivate is a level-2 account's whole way in: an
// officer of the province's police enrols an adult after the in-person
// checks (a printed code), and the holder activates the account with
// that code and a password. Both transactions move the adoption figures
// (level-2 accounts issued, then activated); issue 21 asks that upkeep to
// add < 5 % to them: profile this benchmark and look at the share of
// tally.Add, its flush and accountState (docs/benchmarks.md). The
// password is hashed with the serving cost of argon2id and, for an upper
// bound of the share, with the tests' cheap one. The fixture's province
// has a few hundred adults without an account: run it with -benchtime
// 300x.
func BenchmarkEnrolAndActivate(b *testing.B) {
	for _, c := range []struct {
		name string
		cost identity.PasswordParams
	}{{"argon2id=serving", identity.DefaultPasswordParams}, {"argon2id=cheap", cheap}} {
		b.Run(c.name, func(b *testing.B) {
			enrolAndActivate(b, newFixture(b, func(o *identity.Options) { o.Password = c.cost }))
		})
	}
}

func enrolAndActivate(b *testing.B, f *fixture) {
	var cid, agency string
	if err := f.db.QueryRow(f.ctx, `SELECT o.citizen_id, o.agency_code FROM officials o JOIN agencies a ON a.code = o.agency_code
		JOIN units u ON u.code = a.unit_code WHERE a.kind = ? AND o.role = ? AND u.level = 'province' ORDER BY o.citizen_id LIMIT 1`,
		string(registry.Police), string(registry.PoliceOfficer)).Scan(&cid, &agency); err != nil {
		b.Fatal(err)
	}
	acc, err := f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: cid, Level: 2, Password: "officer password"})
	if err != nil {
		b.Fatal(err)
	}
	police, err := f.svc.Post(f.ctx, acc.ID, agency)
	if err != nil {
		b.Fatal(err)
	}
	police.ACR = kernel.ACRLevel2
	rows, err := f.db.Query(f.ctx, `SELECT citizen_id FROM persons WHERE birth_date < '2000-01-01' AND died_on = ''
		AND citizen_id NOT IN (SELECT citizen_id FROM accounts) ORDER BY citizen_id`)
	if err != nil {
		b.Fatal(err)
	}
	var adults []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		adults = append(adults, id)
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	good := identity.Checks{ChipRead: true, FaceMatch: true, Fingerprint: "match", OfficerAttest: true}
	i := 0
	b.ResetTimer()
	for b.Loop() {
		if i == len(adults) {
			b.Fatalf("only %d adults without an account: ask fewer iterations", len(adults))
		}
		issued, err := f.svc.Enrol(f.ctx, police, identity.Enrolment{CitizenID: adults[i], Checks: good, Contact: identity.ContactLetter})
		if err != nil {
			b.Fatal(err)
		}
		a, err := f.svc.Activate(f.ctx, identity.Activation{CitizenID: adults[i], Code: issued.Code, Password: "a new password 7"})
		if err != nil || a.Status != identity.StatusActive {
			b.Fatal(a.Status, err)
		}
		i++
	}
}
