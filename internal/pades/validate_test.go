package pades_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki/pkitest"
)

func signMem(t testing.TB, e *env, in []byte, p pkitest.Party, level pades.Level) []byte {
	t.Helper()
	var f memFile
	if _, err := pades.Sign(context.Background(), &f, bytes.NewReader(in), int64(len(in)), p.Key, e.options(p, level, p.Cert.Subject.CommonName)); err != nil {
		t.Fatal(err)
	}
	return f.b
}

func validateMem(t testing.TB, b []byte, trust pades.Trust, online pades.Revocation) *pades.Report {
	t.Helper()
	rep, err := pades.Validate(context.Background(), bytes.NewReader(b), int64(len(b)), trust, online)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantReport(t testing.TB, rep *pades.Report, verdict pades.Verdict, reason string) {
	t.Helper()
	s := rep.Signatures[0]
	if rep.Verdict != verdict || s.Verdict != verdict || !slices.Contains(s.Reasons, reason) {
		t.Fatalf("verdict %s (%s, %v), want %s with %s", rep.Verdict, s.Verdict, s.Reasons, verdict, reason)
	}
}

// TestTamper: one byte changed in the signed range is caught by poppler
// and by us.
func TestTamper(t *testing.T) {
	e := newEnv(t)
	signed := signMem(t, e, testPDF(1, 0), e.Signer, pades.LevelBT)
	i := bytes.Index(signed, []byte("(Trang 1)"))
	bad := bytes.Clone(signed)
	bad[i+7] = '7'
	wantReport(t, validateMem(t, bad, e.trust, e.rev), pades.Failed, "pades.reason.digest_mismatch")
	if rep := validateMem(t, signed, e.trust, e.rev); rep.Verdict != pades.Passed {
		t.Fatalf("untouched file: %+v", rep.Signatures)
	}

	if _, err := exec.LookPath("pdfsig"); err == nil {
		nss := e.nssDB(t)
		p := filepath.Join(t.TempDir(), "tampered.pdf")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		blocks := pdfsig(t, nss, p)
		if len(blocks) != 1 || strings.Contains(blocks[0], "Signature is Valid.") {
			t.Fatalf("pdfsig accepts the tampered file:\n%s", strings.Join(blocks, ""))
		}
	}
}

var startxref = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)

// appendPageChange appends an incremental update that gives page 1 new
// content, as someone who alters a signed document would.
func appendPageChange(t testing.TB, signed []byte) []byte {
	t.Helper()
	d, err := pdf.Open(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := d.Catalog()
	pages, _ := d.Object(cat["Pages"].(pdf.Ref))
	pageRef := pages.(pdf.Dict)["Kids"].(pdf.Array)[0].(pdf.Ref)
	page, _ := d.Object(pageRef)
	var annots []string
	for _, a := range page.(pdf.Dict)["Annots"].(pdf.Array) {
		annots = append(annots, a.(pdf.Ref).String())
	}
	size, _ := d.Trailer().Int("Size")
	prev, _ := strconv.Atoi(string(startxref.FindSubmatch(signed)[1]))

	b := bytes.NewBuffer(bytes.Clone(signed))
	content := "BT /F1 24 Tf 72 720 Td (Trang 1 - DA SUA) Tj ET"
	streamAt := b.Len()
	fmt.Fprintf(b, "%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", size, len(content), content)
	pageAt := b.Len()
	fmt.Fprintf(b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R /Annots [%s] >>\nendobj\n",
		pageRef.Num, size, strings.Join(annots, " "))
	xref := b.Len()
	fmt.Fprintf(b, "xref\n0 1\n0000000000 65535 f\r\n%d 1\n%010d 00000 n\r\n%d 1\n%010d 00000 n\r\n", pageRef.Num, pageAt, size, streamAt)
	fmt.Fprintf(b, "trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size+1, cat2ref(d), prev, xref)
	return b.Bytes()
}

func cat2ref(d *pdf.Document) string { return d.Trailer()["Root"].(pdf.Ref).String() }

// TestModifiedAfter: a page changed in a later update leaves the signed
// bytes intact, so the signature verifies, but the document fails.
func TestModifiedAfter(t *testing.T) {
	e := newEnv(t)
	signed := signMem(t, e, testPDF(1, 0), e.Signer, pades.LevelBT)
	changed := appendPageChange(t, signed)
	rep := validateMem(t, changed, e.trust, e.rev)
	wantReport(t, rep, pades.Failed, "pades.reason.modified")
	if !rep.Signatures[0].ModifiedAfter || !rep.Signatures[0].CoversWholeRevision {
		t.Errorf("%+v", rep.Signatures[0])
	}

	// A later signature, a DSS and a document time-stamp are allowed.
	again := signMem(t, e, signed, e.seal, pades.LevelBLTA)
	rep = validateMem(t, again, e.trust, e.rev)
	if rep.Verdict != pades.Passed || rep.Signatures[0].ModifiedAfter {
		t.Fatalf("allowed changes judged as modifications: %+v", rep.Signatures)
	}
}

func TestRevokedAndUntrusted(t *testing.T) {
	e := newEnv(t)
	in := testPDF(1, 0)
	t.Run("fail/revoked_before_timestamp", func(t *testing.T) {
		rep := validateMem(t, signMem(t, e, in, e.revoked, pades.LevelBT), e.trust, e.rev)
		wantReport(t, rep, pades.Failed, "pades.reason.revoked")
		if rep.Signatures[0].Revocation != "revoked" {
			t.Errorf("revocation %q", rep.Signatures[0].Revocation)
		}
	})
	t.Run("fail/revoked_no_proof_of_time", func(t *testing.T) {
		wantReport(t, validateMem(t, signMem(t, e, in, e.revoked, pades.LevelBB), e.trust, e.rev), pades.Indeterminate, "pades.reason.revoked_no_poe")
	})
	t.Run("fail/untrusted_root", func(t *testing.T) {
		other := pkitest.Pool(pkitest.NewRoot(t, "Another Root").Cert)
		rep := validateMem(t, signMem(t, e, in, e.Signer, pades.LevelBB), pades.Trust{Roots: other}, e.rev)
		wantReport(t, rep, pades.Indeterminate, "pades.reason.untrusted")
		if rep.Signatures[0].SignerName != "Nguyễn Thị Ánh" {
			t.Errorf("signer name %q", rep.Signatures[0].SignerName)
		}
	})
	t.Run("fail/offline_without_evidence", func(t *testing.T) {
		wantReport(t, validateMem(t, signMem(t, e, in, e.Signer, pades.LevelBT), e.trust, nil), pades.Indeterminate, "pades.reason.revocation_not_checked")
	})
	t.Run("fail/no_signatures", func(t *testing.T) {
		if _, err := pades.Validate(context.Background(), bytes.NewReader(in), int64(len(in)), e.trust, nil); err == nil {
			t.Fatal("an unsigned file validated")
		}
	})
}

// TestValidateCMS: detached .p7s from our cms package and from openssl.
func TestValidateCMS(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	content := bytes.Repeat([]byte("Giấy xác nhận cư trú\n"), 1000)
	sum := sha256.Sum256(content)
	ours, err := cms.Sign(sum[:], e.Signer.Key, cms.SignOptions{Certificate: e.Signer.Cert, Chain: []*x509.Certificate{e.Citizens.Cert}, SigningTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pades.ValidateCMS(ctx, ours, bytes.NewReader(content), e.trust, e.rev)
	if err != nil || rep.Verdict != pades.Passed || rep.Signatures[0].Level != pades.LevelBB || rep.Signatures[0].SignerName != "Nguyễn Thị Ánh" {
		t.Fatalf("ours: %v %+v", err, rep)
	}
	rep, _ = pades.ValidateCMS(ctx, ours, bytes.NewReader(append(bytes.Clone(content), '!')), e.trust, e.rev)
	wantReport(t, rep, pades.Failed, "pades.reason.digest_mismatch")
	rep, _ = pades.ValidateCMS(ctx, ours, bytes.NewReader(content), e.trust)
	wantReport(t, rep, pades.Indeterminate, "pades.reason.revocation_not_checked")

	pkitest.NeedOpenSSL(t)
	dir := t.TempDir()
	cert := pkitest.WritePEM(t, dir, "cert.pem", e.leader.Cert)
	key := pkitest.WriteKey(t, dir, "key.pem", e.leader.Key)
	chain := pkitest.WritePEM(t, dir, "chain.pem", e.Citizens.Cert)
	in := pkitest.WriteFile(t, dir, "content.txt", content)
	p7s, err := exec.Command("openssl", "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256", "-cades", "-nosmimecap",
		"-signer", cert, "-inkey", key, "-certfile", chain, "-in", in).Output()
	if err != nil {
		t.Fatal(err)
	}
	rep, err = pades.ValidateCMS(ctx, p7s, bytes.NewReader(content), e.trust, e.rev)
	if err != nil || rep.Verdict != pades.Passed || rep.Signatures[0].SignerName != "Trần Văn Bình" {
		t.Fatalf("openssl: %v %+v", err, rep)
	}
}
