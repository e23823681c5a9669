package signing_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"civitas/internal/pades"
	"civitas/internal/pdf/pdftest"
	"civitas/internal/pki"
)

// variant is a one-page PDF differing from the others by its page size.
func variant(i int) []byte {
	return bytes.Replace(pdftest.Tiny(), []byte("0 0 595 842"), fmt.Appendf(nil, "0 0 %d 842", 500+i), 1)
}

// validate checks a signed PDF with our validator against our root,
// asking the CA's OCSP about what the file carries no evidence for (B-B,
// B-T).
func (e *env) validate(t *testing.T, signed []byte) *pades.Report {
	t.Helper()
	root, _ := e.ca.CA(pki.Root)
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	rep, err := pades.Validate(e.ctx, bytes.NewReader(signed), int64(len(signed)), pades.Trust{Roots: roots}, e.ca)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// submitPDFs submits PDFs through the REST API and returns the request's
// ID and its documents.
func submitPDFs(t *testing.T, app client, level string, pdfs ...[]byte) (string, []map[string]any) {
	t.Helper()
	docs := make([]map[string]string, len(pdfs))
	for i, p := range pdfs {
		docs[i] = map[string]string{"label": fmt.Sprintf("Quyết định %d.pdf", i+1), "pdf": b64(p), "conformance_level": level}
	}
	st, out := app.call("POST", "/api/signing/v1/requests", map[string]any{"description": "Quyết định tháng 5", "documents": docs})
	id, _ := out["id"].(string)
	list, _ := out["documents"].([]any)
	if st != http.StatusCreated || id == "" || len(list) != len(pdfs) {
		t.Fatalf("submit PDFs: %d %v", st, out)
	}
	got := make([]map[string]any, len(list))
	for i, d := range list {
		got[i] = d.(map[string]any)
	}
	return id, got
}

// The application sends PDFs; each is prepared once and its digest is what
// the holder approves on their phone, with the PDFs' names as labels; the
// application takes the SAD by polling, once, and signDoc returns the PDFs
// signed at the level asked, which our validator passes.
func TestSignDoc(t *testing.T) {
	e := newEnv(t)
	e.withPDF()
	cred := e.active(1)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	holder := login(t, srv, "acct-01", "level2")
	for i, level := range []string{"Ades-B-B", "Ades-B-T", "Ades-B-LT", "Ades-B-LTA"} {
		t.Run("ok/"+level, func(t *testing.T) {
			one, two := variant(2*i), variant(2*i+1)
			id, docs := submitPDFs(t, app, level, one, two)
			if docs[0]["conformance_level"] != level || docs[0]["id"] == "" || docs[0]["hash"] == "" {
				t.Fatalf("documents: %v", docs)
			}
			// The holder sees the PDFs' names and approves on their phone.
			if st, page := holder.get("/sign/" + id); st != http.StatusOK || !strings.Contains(page, "Quyết định 2.pdf") {
				t.Fatalf("request page: %d", st)
			}
			r, _ := e.s.Request(e.ctx, "acct-01", id)
			for k, d := range docs {
				if d["hash"] != b64(r.Items[k].Hash) || r.Items[k].Label != d["label"] {
					t.Fatal("the holder does not approve the digest the application was given")
				}
			}
			if st, _, _ := app.callRaw("GET", "/api/signing/v1/requests/"+id, nil); st != http.StatusOK {
				t.Fatal(st)
			}
			if _, out := app.call("GET", "/api/signing/v1/requests/"+id, nil); out["sad"] != nil || out["status"] != "pending" {
				t.Fatalf("a SAD before approval: %v", out)
			}
			if st, loc := holder.post("/sign/"+id+"/approve", url.Values{"code": {goodCode}}); st != http.StatusSeeOther || !strings.Contains(loc, "done=approved") {
				t.Fatalf("approve: %d %s", st, loc)
			}
			_, out := app.call("GET", "/api/signing/v1/requests/"+id, nil)
			sad, _ := out["sad"].(string)
			if out["status"] != "approved" || sad == "" || out["sad_expires_at"] == nil {
				t.Fatalf("poll after approval: %v", out)
			}
			if _, again := app.call("GET", "/api/signing/v1/requests/"+id, nil); again["sad"] != nil {
				t.Fatal("the SAD is handed over twice")
			}
			// By ID and by content, in another order.
			body := map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{
				{"document": b64(two), "signature_format": "P", "conformance_level": level},
				{"documentID": docs[0]["id"].(string), "signature_format": "P"},
			}}
			st, out := app.call("POST", "/api/csc/v2/signatures/signDoc", body)
			signed, _ := out["DocumentWithSignature"].([]any)
			if st != http.StatusOK || len(signed) != 2 {
				t.Fatalf("signDoc: %d %v", st, out)
			}
			want := pades.Level(strings.TrimPrefix(level, "Ades-"))
			for k, s := range signed {
				pdf, _ := base64.StdEncoding.DecodeString(s.(string))
				rep := e.validate(t, pdf)
				if rep.Verdict != pades.Passed || rep.Signatures[0].Level != want || rep.Signatures[0].SignerName != "Trần Thị Bình" {
					t.Fatalf("document %d: %+v", k, rep.Signatures)
				}
				if k == 0 && !bytes.HasPrefix(pdf, two) || k == 1 && !bytes.HasPrefix(pdf, one) {
					t.Fatalf("document %d is not the file sent, updated", k)
				}
			}
			// Replayed: refused, as a CSC error.
			st, out = app.call("POST", "/api/csc/v2/signatures/signDoc", body)
			if st != http.StatusForbidden || out["error"] != "invalid_request" || out["error_description"] == "" {
				t.Fatalf("replay: %d %v", st, out)
			}
			// The signed file again, over REST.
			st, _, again := app.callRaw("GET", "/api/signing/v1/documents/"+docs[0]["id"].(string), nil)
			first, _ := base64.StdEncoding.DecodeString(signed[1].(string))
			if st != http.StatusOK || !bytes.Equal(again, first) {
				t.Fatalf("download: %d", st)
			}
			if st, _, _ := (client{t: t, url: srv.URL, token: "acct-02 portal signing"}).callRaw("GET", "/api/signing/v1/documents/"+docs[0]["id"].(string), nil); st != http.StatusNotFound {
				t.Fatalf("another holder downloads: %d", st)
			}
		})
	}
}

// No PDF is signed without the SAD of exactly its approval: forged,
// another request's, replayed, expired, for other or fewer documents, for
// another holder or application — and refusing spends nothing, so the
// right call still signs after.
func TestSignDocRefusals(t *testing.T) {
	e := newEnv(t)
	e.withPDF()
	cred := e.active(1)
	e.active(2)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	one, two, other := variant(1), variant(2), variant(3)
	id, docs := submitPDFs(t, app, "Ades-B-B", one, two)
	if err := e.s.ApproveAndSign(e.ctx, "acct-01", id, goodCode); err != nil {
		t.Fatal(err)
	}
	// Another holder of the same application cannot take the SAD.
	if _, out := (client{t: t, url: srv.URL, token: "acct-02 portal signing"}).call("GET", "/api/signing/v1/requests/"+id, nil); out["sad"] != nil {
		t.Fatal("another holder took the SAD")
	}
	_, out := app.call("GET", "/api/signing/v1/requests/"+id, nil)
	sad, _ := out["sad"].(string)
	if sad == "" {
		t.Fatalf("no SAD: %v", out)
	}
	// A SAD for hashes (explicit mode), not for these PDFs.
	_, out = app.call("POST", "/api/csc/v2/credentials/authorize", map[string]any{"credentialID": cred.ID, "numSignatures": 1,
		"hashes": []string{docs[0]["hash"].(string)}, "OTP": goodCode})
	hashSAD, _ := out["SAD"].(string)
	if hashSAD == "" {
		t.Fatalf("authorize: %v", out)
	}

	byID := func(k int) map[string]string {
		return map[string]string{"documentID": docs[k]["id"].(string), "signature_format": "P"}
	}
	byContent := func(p []byte) map[string]string {
		return map[string]string{"document": b64(p), "signature_format": "P"}
	}
	good := []map[string]string{byID(0), byID(1)}
	for _, tt := range []struct {
		name   string
		token  string
		body   map[string]any
		status int
		code   string
	}{
		{"fail/forged SAD", "", map[string]any{"credentialID": cred.ID, "SAD": id + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "documents": good}, http.StatusForbidden, "invalid_request"},
		{"fail/no SAD", "", map[string]any{"credentialID": cred.ID, "documents": good}, http.StatusBadRequest, "invalid_request"},
		{"fail/a SAD for hashes", "", map[string]any{"credentialID": cred.ID, "SAD": hashSAD, "documents": good}, http.StatusForbidden, "invalid_request"},
		{"fail/another document", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{byID(0), byContent(other)}}, http.StatusForbidden, "invalid_request"},
		{"fail/one of two", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{byContent(one)}}, http.StatusForbidden, "invalid_request"},
		{"fail/one twice", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{byID(0), byContent(one)}}, http.StatusForbidden, "invalid_request"},
		{"fail/a document ID of another request", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{byID(0), {"documentID": "x-2", "signature_format": "P"}}}, http.StatusForbidden, "invalid_request"},
		{"fail/another credential", "", map[string]any{"credentialID": "nope", "SAD": sad, "documents": good}, http.StatusForbidden, "invalid_request"},
		{"fail/another holder", "acct-02 portal signing", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good}, http.StatusForbidden, "invalid_request"},
		{"fail/another application", "acct-01 other-app signing", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good}, http.StatusForbidden, "invalid_request"},
		{"fail/another level", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{byID(0), {"documentID": docs[1]["id"].(string), "signature_format": "P", "conformance_level": "Ades-B-LTA"}}}, http.StatusBadRequest, "invalid_request"},
		{"fail/unknown level", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{{"documentID": docs[1]["id"].(string), "signature_format": "P", "conformance_level": "Ades-X"}}}, http.StatusBadRequest, "invalid_request"},
		{"fail/CAdES", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{{"documentID": docs[1]["id"].(string), "signature_format": "C"}}}, http.StatusBadRequest, "invalid_request"},
		{"fail/documentDigests", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good, "documentDigests": map[string]any{"hashes": []string{}}}, http.StatusBadRequest, "invalid_request"},
		{"fail/asynchronous", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good, "operationMode": "A"}, http.StatusBadRequest, "invalid_request"},
		{"fail/both ID and content", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{{"documentID": docs[0]["id"].(string), "document": b64(one), "signature_format": "P"}, byID(1)}}, http.StatusBadRequest, "invalid_request"},
		{"fail/not base64", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": []map[string]string{{"document": "%%%", "signature_format": "P"}, byID(1)}}, http.StatusBadRequest, "invalid_request"},
		{"fail/unknown field", "", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good, "bogus": 1}, http.StatusBadRequest, "invalid_request"},
		{"fail/no token", "-", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good}, http.StatusUnauthorized, "invalid_token"},
		{"fail/no signing scope", "acct-01 portal openid", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good}, http.StatusForbidden, "access_denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := app
			switch tt.token {
			case "":
			case "-":
				c.token = ""
			default:
				c.token = tt.token
			}
			st, out := c.call("POST", "/api/csc/v2/signatures/signDoc", tt.body)
			if st != tt.status || out["error"] != tt.code || out["error_description"] == "" || out["DocumentWithSignature"] != nil {
				t.Fatalf("%d %v", st, out)
			}
		})
	}
	st, out := app.call("POST", "/api/csc/v2/signatures/signDoc", map[string]any{"credentialID": cred.ID, "SAD": sad, "documents": good})
	if st != http.StatusOK {
		t.Fatalf("the approved call after the refused ones: %d %v", st, out)
	}
	if e.count("signing.sign") != 2 {
		t.Fatalf("%d signatures audited", e.count("signing.sign"))
	}

	// An approval not taken within the SAD's lifetime hands nothing over.
	id2, _ := submitPDFs(t, app, "", other)
	if err := e.s.ApproveAndSign(e.ctx, "acct-01", id2, goodCode); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5*time.Minute + time.Second)
	if _, out := app.call("GET", "/api/signing/v1/requests/"+id2, nil); out["sad"] != nil {
		t.Fatal("a SAD handed over after its lifetime")
	}

	// Submissions: hashes and PDFs together, a PDF that is not one, a bad level.
	for name, docs := range map[string][]map[string]string{
		"fail/mixed":     {{"label": "a.pdf", "pdf": b64(one)}, {"label": "b", "hash": b64(hashes(1, "m")[0].Hash)}},
		"fail/not a PDF": {{"label": "a.pdf", "pdf": b64([]byte("không phải PDF"))}},
		"fail/level":     {{"label": "a.pdf", "pdf": b64(one), "conformance_level": "Ades-B-Z"}},
		"fail/no label":  {{"pdf": b64(one)}},
		"fail/base64":    {{"label": "a.pdf", "pdf": "***"}},
	} {
		if st, out := app.call("POST", "/api/signing/v1/requests", map[string]any{"description": "x", "documents": docs}); st != http.StatusBadRequest {
			t.Errorf("%s: %d %v", name, st, out)
		}
	}
}
