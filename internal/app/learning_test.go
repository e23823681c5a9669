package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"civitas/internal/learning"
	"civitas/internal/sdjwt"
	"civitas/internal/wallet"
)

// The demo's learners passed courses; their certificates are in their
// wallets as course_certificate documents that npm @sd-jwt/sd-jwt-vc, an
// implementation nobody here wrote, verifies with the status list served.
func TestLearningCertificateInTheWallet(t *testing.T) {
	s := startSite(t)
	rows, err := s.a.db.Query(s.ctx, `SELECT learner, course, certificate FROM learning_enrolments WHERE cert_state = ?`, learning.CertIssued)
	if err != nil {
		t.Fatal(err)
	}
	type cert struct{ learner, course, doc string }
	var certs []cert
	for rows.Next() {
		var c cert
		if err := rows.Scan(&c.learner, &c.course, &c.doc); err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	rows.Close()
	if len(certs) == 0 {
		t.Fatal("the demo issued no course certificate")
	}
	c := certs[0]
	doc, err := s.a.wallet.Document(s.ctx, wallet.Holder{Kind: wallet.HolderPerson, ID: c.learner}, c.doc)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Type != learning.CertificateType || doc.Holder.ID != c.learner || doc.Holder.Kind != wallet.HolderPerson || doc.Claims["course_code"] != c.course {
		t.Fatalf("certificate %+v", doc.Document)
	}
	person, err := s.a.registry.Person(s.ctx, c.learner)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Claims["full_name"] != person.FullName || doc.Claims["score_band"] != "90–100%" {
		t.Fatalf("claims %v", doc.Claims)
	}
	v, err := sdjwt.Verify(s.ctx, doc.Credential, sdjwt.VerifyOptions{Key: s.a.wallet.IssuerKey, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if v.VCT != s.a.wallet.VCT(learning.CertificateType) {
		t.Fatalf("vct %s", v.VCT)
	}

	dir := filepath.Join("..", "..", "tests", "wallet")
	if _, err := exec.LookPath("node"); err != nil || !exists(filepath.Join(dir, "node_modules", "@sd-jwt", "sd-jwt-vc")) {
		if os.Getenv("CIVITAS_REQUIRE_NODE") != "" {
			t.Fatal("node and npm @sd-jwt/sd-jwt-vc are needed: cd tests/wallet && npm ci")
		}
		t.Skip("node or npm @sd-jwt/sd-jwt-vc missing: cd tests/wallet && npm ci")
	}
	set, err := s.a.wallet.JWKS(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	issuerJWK, _ := set.Find(v.KeyID)
	resp, err := http.Get(v.Status.URI)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	in, _ := json.Marshal(map[string]any{"credential": doc.Credential, "issuer_jwk": issuerJWK, "status_list_jwt": string(list)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "verify.mjs")
	var stdout, stderr bytes.Buffer
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm @sd-jwt/sd-jwt-vc refuses the certificate: %v %s", err, stderr.String())
	}
	var out struct {
		Credential struct {
			Claims map[string]any `json:"claims"`
		} `json:"credential"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Credential.Claims["course_title"] != doc.Claims["course_title"] || out.Credential.Claims["vct"] != v.VCT {
		t.Fatalf("npm reads %v", out.Credential.Claims)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
