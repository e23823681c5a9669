package signing_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf/pdftest"
	"civitas/internal/pki"
	"civitas/internal/signing"
)

// An official enrols their own credential and one as chairman of the
// commune's committee; a request to the latter makes a signature whose
// certificate chains to the Officials CA and names the title and agency.
// Someone without a post cannot enrol one; citizens' flow is unchanged.
func TestOfficialCredential(t *testing.T) {
	e := newEnv(t)
	e.withPDF()
	srv := e.serve(t)

	// fail/not an official, at the service and on the page.
	_, err := e.s.EnrolOfficial(e.ctx, "acct-01", "001090000001", "00001", testAgency)
	wantCode(t, err, kernel.Forbidden, "signing.error.not_official")
	citizen := login(t, srv, "acct-01", "level2")
	if _, page := citizen.get("/account/signing"); strings.Contains(page, `name="agency"`) {
		t.Fatal("a citizen without a post is offered an official's credential")
	}
	if st, _ := citizen.post("/account/signing/enrol", url.Values{"agency": {testAgency}}); st != http.StatusForbidden {
		t.Fatalf("a citizen enrols as an official: %d", st)
	}
	if creds, _ := e.s.Credentials(e.ctx, "acct-01"); len(creds) != 0 {
		t.Fatal("a credential was made")
	}
	// fail/level 1: no enrolment at all.
	if st, _ := login(t, srv, "acct-05", "level1").post("/account/signing/enrol", url.Values{"agency": {testAgency}}); st != http.StatusForbidden {
		t.Fatalf("enrol as an official with a level-1 session: %d", st)
	}

	// ok/the official enrols both on their page and activates them.
	official := login(t, srv, "acct-05", "level2")
	if _, page := official.get("/account/signing"); !strings.Contains(page, `id="enrol"`) || !strings.Contains(page, `id="enrol-`+testAgency+`"`) || !strings.Contains(page, testAgencyName) {
		t.Fatal("the official is not offered both credentials")
	}
	for _, form := range []url.Values{{}, {"agency": {testAgency}}, {"agency": {testAgency}}} { // the last: a second click
		if st, _ := official.post("/account/signing/enrol", form); st != http.StatusSeeOther {
			t.Fatalf("enrol %v: %d", form, st)
		}
	}
	creds, _ := e.s.Credentials(e.ctx, "acct-05")
	if len(creds) != 2 {
		t.Fatalf("%d credentials", len(creds))
	}
	var own, chair signing.Credential
	for _, c := range creds {
		if c.Capacity.Official() {
			chair = c
		} else {
			own = c
		}
		if st, _ := official.post("/account/signing/activate", url.Values{"credential": {c.ID}, "code": {goodCode}}); st != http.StatusSeeOther {
			t.Fatalf("activate: %d", st)
		}
	}
	if chair.Capacity != (signing.Capacity{AgencyCode: testAgency, AgencyName: testAgencyName, Title: testTitle}) || own.ID == "" {
		t.Fatalf("capacities: %+v %+v", own, chair)
	}
	_, err = e.s.EnrolOfficial(e.ctx, "acct-05", "001090000005", "00001", testAgency)
	wantCode(t, err, kernel.Conflict, "signing.error.already_enrolled")
	if _, page := official.get("/account/signing"); !strings.Contains(page, testTitle+", "+testAgencyName) || strings.Contains(page, `name="agency"`) {
		t.Fatal("the page does not show the capacity, or offers the post again")
	}

	// The APIs list both, with the capacity.
	app := client{t: t, url: srv.URL, token: "acct-05 portal signing"}
	_, out := app.call("GET", "/api/signing/v1/credentials", nil)
	list, _ := out["credentials"].([]any)
	found := 0
	for _, c := range list {
		c := c.(map[string]any)
		if capacity, _ := c["capacity"].(map[string]any); c["id"] == chair.ID && capacity["title"] == testTitle && capacity["agency_code"] == testAgency {
			found++
		} else if c["id"] == own.ID && c["capacity"] == nil {
			found++
		}
	}
	if len(list) != 2 || found != 2 {
		t.Fatalf("REST credentials: %v", out)
	}
	_, out = app.call("POST", "/api/csc/v2/credentials/list", map[string]any{"credentialInfo": true, "certificates": "chain"})
	infos, _ := out["credentialInfos"].([]any)
	var chain []*x509.Certificate
	for _, info := range infos {
		info := info.(map[string]any)
		if info["credentialID"] != chair.ID {
			continue
		}
		if info["description"] != testTitle+", "+testAgencyName {
			t.Fatalf("description: %v", info["description"])
		}
		for _, c := range info["cert"].(map[string]any)["certificates"].([]any) {
			der, _ := base64.StdEncoding.DecodeString(c.(string))
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			chain = append(chain, cert)
		}
	}
	if len(infos) != 2 || len(chain) != 3 {
		t.Fatalf("CSC credentials/list: %v", out)
	}

	// A request to the official credential, approved on the phone page.
	items := hashes(2, "chair")
	docs := []map[string]string{{"label": items[0].Label, "hash": b64(items[0].Hash)}, {"label": items[1].Label, "hash": b64(items[1].Hash)}}
	st, out := app.call("POST", "/api/signing/v1/requests", map[string]any{"credential_id": chair.ID, "description": "Quyết định của UBND", "documents": docs})
	id, _ := out["id"].(string)
	if st != http.StatusCreated {
		t.Fatalf("submit: %d %v", st, out)
	}
	if _, page := official.get("/sign/" + id); !strings.Contains(page, testTitle+", "+testAgencyName) {
		t.Fatal("the phone page does not say in which capacity the holder signs")
	}
	if st, _ := official.post("/sign/"+id+"/approve", url.Values{"code": {goodCode}}); st != http.StatusSeeOther {
		t.Fatalf("approve: %d", st)
	}
	_, out = app.call("GET", "/api/signing/v1/requests/"+id, nil)
	got, _ := out["documents"].([]any)
	if out["status"] != "done" || len(got) != 2 {
		t.Fatalf("poll: %v", out)
	}
	leaf := chain[0]
	for i, d := range got {
		sig, _ := base64.StdEncoding.DecodeString(d.(map[string]any)["signature"].(string))
		if !ecdsa.VerifyASN1(leaf.PublicKey.(*ecdsa.PublicKey), items[i].Hash, sig) {
			t.Fatalf("signature %d does not verify with the official's certificate", i)
		}
	}
	officialsCA, _ := e.ca.CA(pki.Officials)
	root, _ := e.ca.CA(pki.Root)
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root.Cert)
	inter.AddCert(officialsCA.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: e.clock.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leaf.RawIssuer, officialsCA.Cert.RawSubject) || !strings.Contains(leaf.Subject.String(), "O="+testAgencyName) || titleOf(leaf) != testTitle {
		t.Fatalf("the certificate is not an official's: %s", leaf.Subject)
	}

	// A PDF of their own, signed as chairman, passes validation.
	q, err := e.s.UploadPDF(e.ctx, "acct-05", chair.ID, "Quyết định.pdf", bytes.NewReader(pdftest.Tiny()), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.ApproveAndSign(e.ctx, "acct-05", q.ID, goodCode); err != nil {
		t.Fatal(err)
	}
	_, signed, err := e.s.SignedPDF(e.ctx, "acct-05", q.ID)
	if err != nil {
		t.Fatal(err)
	}
	rep := e.validate(t, signed)
	if rep.Verdict != pades.Passed || !strings.Contains(rep.Signatures[0].SignerSubject, testAgencyName) {
		t.Fatalf("the PDF signed as chairman: %+v", rep.Signatures)
	}

	// Citizens' flow is unchanged: without credential_id, the holder's own
	// credential signs, under the Citizens CA.
	st, out = app.call("POST", "/api/signing/v1/requests", map[string]any{"description": "Việc riêng", "documents": docs[:1]})
	if st != http.StatusCreated {
		t.Fatalf("submit: %d %v", st, out)
	}
	r, _ := e.s.Request(e.ctx, "acct-05", out["id"].(string))
	if r.CredentialID != own.ID {
		t.Fatal("a request without credential_id went to the official's credential")
	}
}

func titleOf(c *x509.Certificate) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 12}) {
			s, _ := n.Value.(string)
			return s
		}
	}
	return ""
}
