package pdf_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"civitas/internal/pdf"
)

// testPKI is a throwaway CA and signer certificates (a drafter, a leader,
// an agency seal), ECDSA P-256, in PEM files.
type testPKI struct {
	dir, ca string
	signers []testSigner
}

type testSigner struct{ cert, key string }

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	p := testPKI{dir: dir, ca: filepath.Join(dir, "ca.pem")}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Civitas Test CA", Organization: []string{"civitas"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	if err := os.WriteFile(p.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, cn := range []string{"Nguyễn Thị Ánh", "Trần Văn Bình", "UBND Phường 1"} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(2 + i)), Subject: pkix.Name{CommonName: cn, Organization: []string{"civitas"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
		s := testSigner{cert: filepath.Join(dir, fmt.Sprintf("cert%d.pem", i)), key: filepath.Join(dir, fmt.Sprintf("key%d.pem", i))}
		if err := errors.Join(
			os.WriteFile(s.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
			os.WriteFile(s.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600),
		); err != nil {
			t.Fatal(err)
		}
		p.signers = append(p.signers, s)
	}
	return p
}

// nssDB makes an NSS database that trusts the test CA, for pdfsig.
func (p testPKI) nssDB(t testing.TB) string {
	t.Helper()
	needTool(t, "certutil")
	db := filepath.Join(p.dir, "nss")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "certutil", "-N", "-d", "sql:"+db, "--empty-password")
	run(t, "certutil", "-A", "-d", "sql:"+db, "-n", "civitas", "-t", "CT,C,C", "-i", p.ca)
	return "sql:" + db
}

// signFile signs in into out with openssl cms, the way an outside signer
// would: from the bytes of the byte ranges, read back from the output file
// (complete but for /Contents when sign is called).
func (p testPKI) signFile(t testing.TB, who int, in, out string, o pdf.SignOptions) {
	t.Helper()
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st, _ := src.Stat()
	dst, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	err = pdf.Sign(dst, src, st.Size(), o, func(digest []byte) ([]byte, error) {
		ranges := p.rangesOfLast(t, dst)
		if sum := sha256.Sum256(ranges); !bytes.Equal(sum[:], digest) {
			t.Errorf("digest passed to sign is not the SHA-256 of the byte ranges")
		}
		rf := filepath.Join(p.dir, "ranges.bin")
		if err := os.WriteFile(rf, ranges, 0o600); err != nil {
			return nil, err
		}
		cms, err := exec.Command("openssl", "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256", "-cades",
			"-signer", p.signers[who].cert, "-inkey", p.signers[who].key, "-certfile", p.ca, "-nosmimecap", "-in", rf).Output()
		if err != nil {
			return nil, errors.Join(errors.New("openssl cms"), err)
		}
		return cms, nil
	})
	if err != nil {
		t.Fatalf("sign %s: %v", filepath.Base(in), err)
	}
}

// rangesOfLast reads the byte ranges of the newest signature of f.
func (p testPKI) rangesOfLast(t testing.TB, f *os.File) []byte {
	t.Helper()
	st, _ := f.Stat()
	d, err := pdf.Open(f, st.Size())
	if err != nil {
		t.Fatalf("open output before signing: %v", err)
	}
	sigs, err := d.Signatures()
	if err != nil || len(sigs) == 0 {
		t.Fatalf("signatures of output before signing: %v", err)
	}
	br := sigs[len(sigs)-1].ByteRange
	b := make([]byte, br[1]+br[3])
	f.ReadAt(b[:br[1]], br[0])
	f.ReadAt(b[br[1]:], br[2])
	return b
}

var sigBlock = regexp.MustCompile(`(?m)^Signature #\d+:`)

// pdfsig runs poppler's verifier and splits its report per signature.
func pdfsig(t testing.TB, nss, file string) []string {
	t.Helper()
	args := []string{file}
	if nss != "" {
		args = []string{"-nssdir", nss, file}
	}
	out, _ := exec.Command("pdfsig", args...).CombinedOutput() // exits non-zero for invalid signatures
	idx := sigBlock.FindAllStringIndex(string(out), -1)
	var blocks []string
	for i, loc := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		blocks = append(blocks, string(out[loc[0]:end]))
	}
	return blocks
}

func size(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func openFile(t testing.TB, path string) *pdf.Document {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	d, err := pdf.Open(f, size(t, path))
	if err != nil {
		t.Fatalf("open %s: %v", filepath.Base(path), err)
	}
	return d
}

// TestSignCorpus signs every corpus file three times (a drafter, a leader,
// an agency seal) and has qpdf and poppler check each result.
func TestSignCorpus(t *testing.T) {
	needTool(t, "openssl", "qpdf", "pdfsig")
	pki := newTestPKI(t)
	nss := pki.nssDB(t)
	dir := t.TempDir()
	files := corpus(t, dir)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	signers := []pdf.SignOptions{
		{Name: "Nguyễn Thị Ánh", Reason: "Soạn thảo", Location: "Hà Nội", SignTime: time.Date(2025, 3, 1, 9, 30, 0, 0, time.FixedZone("ICT", 7*3600))},
		{Name: "Tran Van Binh", Reason: "Approved (leader)", SignTime: time.Now()},
		{Name: "UBND Phuong 1", FieldName: "AgencySeal", Reserve: 8192},
	}
	for _, name := range names {
		t.Run("ok/"+name, func(t *testing.T) {
			cur := files[name]
			var ends []int64
			for i, o := range signers {
				next := filepath.Join(dir, name+"-"+string(rune('1'+i))+".pdf")
				pki.signFile(t, i, cur, next, o)
				if out, err := exec.Command("qpdf", "--check", next).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
					t.Fatalf("qpdf --check after signature %d: %v\n%s", i+1, err, out)
				}
				ends = append(ends, size(t, next))
				cur = next
			}

			blocks := pdfsig(t, nss, cur)
			if len(blocks) != len(signers) {
				t.Fatalf("pdfsig found %d signatures, want %d:\n%s", len(blocks), len(signers), strings.Join(blocks, ""))
			}
			for i, b := range blocks {
				if !strings.Contains(b, "Signature Validation: Signature is Valid.") {
					t.Errorf("signature %d not valid:\n%s", i+1, b)
				}
				if !strings.Contains(b, "Certificate Validation: Certificate is Trusted.") {
					t.Errorf("signature %d certificate not trusted:\n%s", i+1, b)
				}
				// poppler says "Not total document signed" for a signature
				// followed by later updates: expected for all but the last.
				last := i == len(blocks)-1
				if total := strings.Contains(b, "Total document signed"); total != last {
					t.Errorf("signature %d: total document signed = %v, want %v:\n%s", i+1, total, last, b)
				}
			}

			d := openFile(t, cur)
			sigs, err := d.Signatures()
			if err != nil || len(sigs) != len(signers) {
				t.Fatalf("Signatures: %d, %v", len(sigs), err)
			}
			for i, s := range sigs {
				if s.Revision != ends[i] || !s.CoversRevision {
					t.Errorf("signature %d: revision %d (want %d), covers %v", i+1, s.Revision, ends[i], s.CoversRevision)
				}
				if s.SubFilter != "ETSI.CAdES.detached" || len(s.Contents) == 0 || s.Contents[0] != 0x30 {
					t.Errorf("signature %d: subfilter %q, contents % x", i+1, s.SubFilter, s.Contents[:min(4, len(s.Contents))])
				}
			}
			if sigs[0].Name != "Nguyễn Thị Ánh" || sigs[0].Reason != "Soạn thảo" || sigs[0].Field != "Signature1" || sigs[2].Field != "AgencySeal" {
				t.Errorf("first signature %q %q %q, third field %q", sigs[0].Name, sigs[0].Reason, sigs[0].Field, sigs[2].Field)
			}
			if !sigs[0].Time.Equal(signers[0].SignTime) {
				t.Errorf("/M read back as %v", sigs[0].Time)
			}
		})
	}
}
