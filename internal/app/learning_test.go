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
	"slices"
	"testing"
	"time"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/learning"
	"civitas/internal/registry"
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
	// The pupil's school issues it (a school is an agency); anyone else's,
	// the provincial education department.
	issuer, err := s.a.registry.Agency(s.ctx, doc.Agency)
	if err != nil || (issuer.Kind != registry.SchoolAgency && issuer.Kind != registry.Education) || doc.Claims["issued_by"] != issuer.Name {
		t.Fatalf("issued by %+v (%v), claims say %v", issuer, err, doc.Claims["issued_by"])
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

// The registry's schools through the adapter: a homeroom teacher has their
// class, its roll is the registry's pupils, a pupil is in it this school
// year, and the teacher sets it a course and sees its progress.
func TestLearningSchoolsFromTheRegistry(t *testing.T) {
	s := startSite(t)
	classes, err := s.a.registry.ListClasses(s.ctx, kernel.Page{Limit: kernel.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	var class registry.Class
	var pupils []registry.Pupil
	for _, c := range classes {
		if c.TeacherCitizenID == "" {
			continue
		}
		if pupils, err = s.a.registry.PupilsOf(s.ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if len(pupils) > 0 {
			class = c
			break
		}
	}
	if class.ID == "" {
		t.Fatal("the demo has no class with a teacher and pupils")
	}
	sc := &learningSchools{reg: s.a.registry, d: s.a.db, clock: s.a.clock}
	mine, err := sc.TeacherClasses(s.ctx, class.TeacherCitizenID)
	if err != nil || !slices.ContainsFunc(mine, func(c learning.Class) bool { return c.ID == class.ID && c.Students == len(pupils) }) {
		t.Fatalf("the teacher's classes %+v, %v", mine, err)
	}
	got, err := sc.StudentClass(s.ctx, pupils[0].CitizenID)
	if err != nil || got.ID != class.ID || got.SchoolCode != class.SchoolCode || got.SchoolName == "" {
		t.Fatalf("the pupil's class %+v, %v", got, err)
	}
	if _, err := sc.StudentClass(s.ctx, class.TeacherCitizenID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a teacher as a pupil: %v", err)
	}
	all, err := sc.Classes(s.ctx, class.SchoolCode)
	if err != nil || !slices.ContainsFunc(all, func(c learning.Class) bool { return c.ID == class.ID && c.Students == len(pupils) }) {
		t.Fatalf("the school's classes %+v, %v", all, err)
	}

	teacher, err := s.a.identity.AddAccount(s.ctx, identity.NewAccount{CitizenID: class.TeacherCitizenID, Level: 2, Password: "a long test password 3"})
	if err != nil {
		t.Fatal(err)
	}
	tctx := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: teacher.ID})
	if err := s.a.learning.Assign(tctx, class.ID, "traffic-safety", time.Now().Add(7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rep, err := s.a.learning.ClassProgress(tctx, class.ID)
	if err != nil || len(rep.Rows) != len(pupils) || len(rep.Assignments) != 1 {
		t.Fatalf("class progress: %d rows for %d pupils, %v", len(rep.Rows), len(pupils), err)
	}
	var logged int
	if err := s.a.db.QueryRow(s.ctx, `SELECT COUNT(*) FROM exchange_log WHERE reader_id = ? AND channel LIKE 'learning%'`, teacher.ID).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if logged != len(pupils) {
		t.Fatalf("%d reads logged for %d pupils", logged, len(pupils))
	}
}
