package wallet_test

import (
	"strings"
	"testing"
	"time"

	"civitas/internal/audit"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
)

func healthCard(p registry.Person) map[string]any {
	return map[string]any{"card_number": "DN4797912345678", "full_name": p.FullName, "birth_date": p.BirthDate, "sex": string(p.Sex),
		"hospital": "Bệnh viện Đa khoa tỉnh"}
}

func TestIssue(t *testing.T) {
	e := newEnv(t)
	police, insurance, tax, committee := e.agency(registry.Police), e.agency(registry.SocialInsurance), e.agency(registry.Tax), e.agency(registry.PeopleCommittee)
	p, b := e.person(0), e.business()
	person := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	org := wallet.Holder{Kind: wallet.HolderOrganisation, ID: b.RegNumber}
	for _, tc := range []struct {
		name string
		in   wallet.Issuance
		code kernel.Code
	}{
		{"ok/citizen ID card from the population registry", wallet.Issuance{Agency: police, Type: "citizen_id_card", Holder: person}, ""},
		{"ok/health insurance card with its claims", wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: person, Claims: healthCard(p)}, ""},
		{"ok/business registration from the business registry", wallet.Issuance{Agency: committee, Type: "business_registration", Holder: org}, ""},
		{"fail/the tax office issues no ID cards", wallet.Issuance{Agency: tax, Type: "citizen_id_card", Holder: person}, kernel.Forbidden},
		{"fail/no registry holds driving licences", wallet.Issuance{Agency: police, Type: "driving_licence", Holder: person}, kernel.Invalid},
		{"fail/a business registration to a person", wallet.Issuance{Agency: committee, Type: "business_registration", Holder: person}, kernel.Invalid},
		{"fail/nobody with that citizen ID", wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: "001099000001"}, Claims: healthCard(p)}, kernel.NotFound},
		{"fail/a claim the type does not have", wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: person, Claims: func() map[string]any { c := healthCard(p); c["blood"] = "O"; return c }()}, kernel.Invalid},
		{"fail/no such type", wallet.Issuance{Agency: police, Type: "wizard_licence", Holder: person}, kernel.NotFound},
		{"fail/no such agency", wallet.Issuance{Agency: "NOPE", Type: "citizen_id_card", Holder: person}, kernel.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.w.Issue(e.ctx, tc.in)
			if tc.code != "" {
				if kernel.ErrorCode(err) != tc.code {
					t.Fatalf("got %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The credential verifies with the issuer's published keys,
			// every claim disclosed, bound to the holder.
			v, err := sdjwt.Verify(e.ctx, got.Credential, sdjwt.VerifyOptions{Key: e.w.IssuerKey, Now: e.clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if v.VCT != e.w.VCT(tc.in.Type) || v.Issuer != issuer || v.Holder == nil || v.Status == nil {
				t.Fatalf("credential: %+v", v)
			}
			for k, want := range got.Claims {
				if have := v.Claims[k]; have != want {
					t.Errorf("claim %s: %v in the credential, %v issued", k, have, want)
				}
			}
			if v.Claims["issuing_authority"] != tc.in.Agency {
				t.Errorf("issuing authority %v", v.Claims["issuing_authority"])
			}
			// It is in the holder's wallet, and nobody else's.
			list, err := e.w.Documents(e.ctx, tc.in.Holder, false)
			found := false
			for _, d := range list {
				found = found || d.ID == got.ID
			}
			if err != nil || !found {
				t.Fatalf("holder's list: %+v %v", list, err)
			}
			if _, err := e.w.Document(e.ctx, wallet.Holder{Kind: wallet.HolderPerson, ID: e.person(1).CitizenID}, got.ID); kernel.ErrorCode(err) != kernel.NotFound {
				t.Fatalf("another person reads it: %v", err)
			}
		})
	}
	id, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: police, Type: "citizen_id_card", Holder: person})
	if err != nil {
		t.Fatal(err)
	}
	if id.Claims["full_name"] != p.FullName || id.Claims["birth_date"] != p.BirthDate || id.Claims["citizen_id"] != p.CitizenID {
		t.Fatalf("claims from the registry: %+v", id.Claims)
	}
	if want := e.clock.Now().Truncate(time.Second).AddDate(10, 0, 0); !id.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", id.ExpiresAt, want)
	}
	if rep, err := audit.Verify(e.ctx, e.d); err != nil || !rep.OK() {
		t.Fatalf("audit: %+v %v", rep, err)
	}
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.issue' AND details NOT LIKE ?`, "%"+p.FullName+"%").Scan(&n); err != nil || n != 4 {
		t.Fatalf("issuances audited without claims: %d %v", n, err)
	}
}

// The holder shows two claims of their health-insurance card; the verifier
// sees those two only, presented by the holder; then the agency's status
// changes reach the verifier.
func TestPresentAndVerify(t *testing.T) {
	e := newEnv(t)
	insurance, police := e.agency(registry.SocialInsurance), e.agency(registry.Police)
	p := e.person(0)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	aud, nonce := "https://benhvien.test", "n-0S6_WzA2Mj"
	pres, err := e.w.Present(e.ctx, h, doc.ID, []string{"full_name", "hospital"}, aud, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(pres, "DN4797912345678") || strings.Contains(pres, p.BirthDate) {
		t.Fatal("the presentation carries an undisclosed claim in clear")
	}
	kb := &sdjwt.ExpectKeyBinding{Audience: aud, Nonce: nonce}
	v, err := e.w.Verify(e.ctx, pres, kb)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != statuslist.Valid || !v.KeyBound || v.Agency != insurance || v.Type.Code != "health_insurance_card" || len(v.Claims) != 2 ||
		v.Claims["full_name"] != p.FullName || v.Claims["hospital"] != "Bệnh viện Đa khoa tỉnh" {
		t.Fatalf("verified: %+v", v)
	}
	for _, tc := range []struct {
		name, pres string
		kb         *sdjwt.ExpectKeyBinding
	}{
		{"fail/another verifier", pres, &sdjwt.ExpectKeyBinding{Audience: "https://other.test", Nonce: nonce}},
		{"fail/a replayed nonce", pres, &sdjwt.ExpectKeyBinding{Audience: aud, Nonce: "another"}},
		{"fail/one character changed", strings.Replace(pres, "~", "~x", 1), kb},
		{"fail/not presented by its holder", doc.Credential, kb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.w.Verify(e.ctx, tc.pres, tc.kb); kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("got %v", err)
			}
		})
	}
	if _, err := e.w.Present(e.ctx, h, doc.ID, []string{"blood"}, aud, nonce); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("presenting a claim it does not have: %v", err)
	}

	// Status changes: only the issuing agency; revoked is final.
	if err := e.w.SetStatus(e.ctx, police, doc.ID, wallet.StatusRevoked, "error"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another agency revokes: %v", err)
	}
	if err := e.w.SetStatus(e.ctx, insurance, doc.ID, wallet.StatusSuspended, "investigation"); err != nil {
		t.Fatal(err)
	}
	if v, err := e.w.Verify(e.ctx, pres, kb); err != nil || v.Status != statuslist.Suspended {
		t.Fatalf("suspended: %v %v", v.Status, err)
	}
	if _, err := e.w.Present(e.ctx, h, doc.ID, []string{"full_name"}, aud, nonce); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("presenting a suspended document: %v", err)
	}
	if err := e.w.SetStatus(e.ctx, insurance, doc.ID, wallet.StatusValid, "other"); err != nil {
		t.Fatal(err)
	}
	if v, err := e.w.Verify(e.ctx, pres, kb); err != nil || v.Status != statuslist.Valid {
		t.Fatalf("reinstated: %v %v", v.Status, err)
	}
	// Re-issued with a new hospital: the old one is revoked with it.
	claims := healthCard(p)
	claims["hospital"] = "Trung tâm Y tế huyện"
	re, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: claims, Replaces: doc.ID})
	if err != nil || re.Replaces != doc.ID {
		t.Fatalf("re-issue: %+v %v", re, err)
	}
	if v, err := e.w.Verify(e.ctx, pres, kb); err != nil || v.Status != statuslist.Invalid {
		t.Fatalf("the replaced document: %v %v", v.Status, err)
	}
	if err := e.w.SetStatus(e.ctx, insurance, doc.ID, wallet.StatusValid, "other"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("reinstating a revoked document: %v", err)
	}
	if err := e.w.SetStatus(e.ctx, insurance, re.ID, "lost", "other"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("an unknown status: %v", err)
	}
	// Hidden documents leave the list, not the wallet.
	if err := e.w.SetHidden(e.ctx, h, doc.ID, true); err != nil {
		t.Fatal(err)
	}
	if l, _ := e.w.Documents(e.ctx, h, false); len(l) != 1 || l[0].ID != re.ID {
		t.Fatalf("list without hidden: %+v", l)
	}
	if l, _ := e.w.Documents(e.ctx, h, true); len(l) != 2 {
		t.Fatalf("list with hidden: %+v", l)
	}
	if err := e.w.SetHidden(e.ctx, wallet.Holder{Kind: wallet.HolderPerson, ID: e.person(1).CitizenID}, re.ID, true); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another person hides it: %v", err)
	}
}
