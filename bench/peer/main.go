// Command peer seals the same PDF with civitas (PAdES B-B) and with
// github.com/digitorus/pdfsign, in one process on one core, and prints the
// time per signature of each against the floor: SHA-256 of the file and one
// ECDSA P-256 signature. Issue 5 asks civitas to be at least 5× faster than
// the fastest peer on the same files.
//
// It is a separate module so that the peer's dependencies never reach the
// main module's go.mod. The keys and certificates are made in memory for
// the run; no key is ever written to disk (-out writes only the signed
// files and the CA's certificate).
//
// Usage, from bench/peer: go run . -in FILE.pdf [-n 200] [-rounds 3] [-out DIR]
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pades"
	"civitas/internal/pdf"

	peerpdf "github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
)

func main() {
	in := flag.String("in", "", "the PDF to sign")
	n := flag.Int("n", 200, "signatures per signer and round")
	rounds := flag.Int("rounds", 3, "rounds, interleaved; the median round is reported")
	outDir := flag.String("out", "", "if set, write there the two signed files and the CA certificate (ca.pem), for other verifiers")
	flag.Parse()
	if *in == "" || *n < 1 || *rounds < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), os.Stdout, *in, *outDir, *n, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

// pki is the throwaway CA and signer of one run.
type pki struct {
	ca, leaf *x509.Certificate
	key      *ecdsa.PrivateKey // the leaf's
	roots    *x509.CertPool    // the CA alone
	crl      []byte            // an empty CRL from the CA, so that validation can say "good"
}

func newPKI() (*pki, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// Random serials: certificates of different runs must not share an
	// issuer and serial (NSS, for pdfsig, refuses that).
	serial := func() *big.Int { n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)); return n }
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "Bench CA", Organization: []string{"civitas bench"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "Bench Seal", Organization: []string{"civitas bench"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(24 * time.Hour),
	}, ca, caKey)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &pki{ca: ca, leaf: leaf, key: key, roots: roots, crl: crl}, nil
}

// crlSource answers every revocation question with the CA's empty CRL.
type crlSource struct{ crl []byte }

var _ pades.Revocation = crlSource{}

// Evidence implements pades.Revocation.
func (s crlSource) Evidence(context.Context, []*x509.Certificate) ([][]byte, [][]byte, error) {
	return nil, [][]byte{s.crl}, nil
}

// memFile is an output file in memory: writes grow it into the capacity
// made beforehand, as a file's pages would be there already.
type memFile struct{ b []byte }

var _ io.WriterAt = (*memFile)(nil)

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("memFile: negative offset")
	}
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		if end <= int64(cap(m.b)) {
			m.b = m.b[:end]
		} else {
			m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
		}
	}
	copy(m.b[off:], p)
	return len(p), nil
}

// signer is one way of signing the input, writing into its own buffer.
type signer struct {
	name string
	note string          // what the output line should say besides the figures
	op   func() error    // one signature
	out  func() []byte   // the last output, for the check
	per  []time.Duration // per round
	mem  []uint64        // bytes allocated per op, per round
	fail error           // the first signature failed: not timed
}

// run signs once with each signer and checks the outputs, then times them.
func run(ctx context.Context, stdout io.Writer, path, outDir string, n, rounds int) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	size := int64(len(in))
	p, err := newPKI()
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	runtime.GOMAXPROCS(1)

	// pdfsign logs and signs the whole file again when its reserve was too
	// small: count those retries, since they double its cost.
	retries := &lineCounter{}
	log.SetOutput(retries)

	ours := &memFile{b: make([]byte, 0, size+64<<10)}
	peers := bytes.NewBuffer(make([]byte, 0, size+64<<10))
	chain := []*x509.Certificate{p.ca}

	floor := &signer{name: "floor", op: func() error {
		sum := sha256.Sum256(in)
		_, err := ecdsa.SignASN1(rand.Reader, p.key, sum[:])
		return err
	}}
	civitas := &signer{name: "civitas", note: "PAdES B-B, ETSI.CAdES.detached", op: func() error {
		ours.b = ours.b[:0]
		o := pades.Options{Level: pades.LevelBB, Certificate: p.leaf, Chain: chain,
			PDF: pdf.SignOptions{Name: "Bench", SignTime: time.Now()}}
		_, err := pades.Sign(ctx, ours, bytes.NewReader(in), size, p.key, o)
		return err
	}, out: func() []byte { return ours.b }}
	pdfsign := &signer{name: "pdfsign", note: "adbe.pkcs7.detached: pdfsign cannot write ETSI.CAdES.detached", op: func() error {
		peers.Reset()
		// Parsing is part of signing, as it is in pades.Sign.
		rdr, err := peerpdf.NewReader(bytes.NewReader(in), size)
		if err != nil {
			return err
		}
		return sign.Sign(bytes.NewReader(in), peers, rdr, size, sign.SignData{
			Signature: sign.SignDataSignature{
				CertType: sign.ApprovalSignature,
				Info:     sign.SignDataSignatureInfo{Name: "Bench", Date: time.Now()},
			},
			Signer:            p.key,
			DigestAlgorithm:   crypto.SHA256,
			Certificate:       p.leaf,
			CertificateChains: [][]*x509.Certificate{{p.leaf, p.ca}},
		})
	}, out: func() []byte { return peers.Bytes() }}
	signers := []*signer{floor, civitas, pdfsign}

	fmt.Fprintf(stdout, "%s: %d bytes; %d signatures per signer and round, %d rounds interleaved, median round; GOMAXPROCS=1\n",
		filepath.Base(path), size, n, rounds)
	for _, s := range signers[1:] {
		retries.n = 0
		if s.fail = s.op(); s.fail != nil {
			fmt.Fprintf(stdout, "  check %-8s signing failed: %v\n", s.name, s.fail)
			continue
		}
		line, err := check(ctx, s.out(), p)
		if retries.n > 0 {
			line += fmt.Sprintf("; signed %d times (reserve too small)", retries.n+1)
		}
		if err != nil {
			line += "; " + err.Error()
		}
		fmt.Fprintf(stdout, "  check %-8s %s\n", s.name, line)
		if outDir != "" {
			if err := os.WriteFile(filepath.Join(outDir, s.name+".pdf"), s.out(), 0o644); err != nil {
				return err
			}
		}
	}
	if outDir != "" {
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.Raw})
		if err := os.WriteFile(filepath.Join(outDir, "ca.pem"), ca, 0o644); err != nil {
			return err
		}
	}

	// Warm up (caches, the heap's size) before timing anything.
	for _, s := range signers {
		if s.fail != nil {
			continue
		}
		for range max(n/10, 3) {
			if err := s.op(); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	for range rounds {
		for _, s := range signers {
			if s.fail != nil {
				continue
			}
			d, mem, err := measure(n, s.op)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			s.per, s.mem = append(s.per, d), append(s.mem, mem)
		}
	}

	base := median(floor.per)
	for _, s := range signers {
		if s.fail != nil {
			fmt.Fprintf(stdout, "%-10s failed on this file\n", s.name)
			continue
		}
		d := median(s.per)
		line := fmt.Sprintf("%-10s %7.2f ms/op %8.2f MiB alloc/op", s.name, ms(d), float64(median(s.mem))/(1<<20))
		if s != floor {
			line += fmt.Sprintf("  %5.2fx floor", float64(d)/float64(base))
		}
		if s == pdfsign && civitas.fail == nil {
			if r := float64(d) / float64(median(civitas.per)); r >= 1 {
				line += fmt.Sprintf("; civitas is %.1fx faster", r)
			} else {
				line += fmt.Sprintf("; civitas is %.1fx slower", 1/r)
			}
		}
		if s.note != "" {
			line += "  (" + s.note + ")"
		}
		fmt.Fprintln(stdout, line)
	}
	if retries.n > 0 {
		fmt.Fprintf(stdout, "note: pdfsign re-signed %d times while timed (reserve too small)\n", retries.n)
	}
	return nil
}

// measure times n calls of op after a collection, and returns the time and
// the bytes allocated per call.
func measure(n int, op func() error) (time.Duration, uint64, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range n {
		if err := op(); err != nil {
			return 0, 0, err
		}
	}
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d / time.Duration(n), (after.TotalAlloc - before.TotalAlloc) / uint64(n), nil
}

// check reads the signed file back with civitas: one signature whose byte
// range covers its revision, a CMS that the strict verifier accepts over
// those bytes and chains to the CA, and the full PAdES validation with the
// CA's CRL as revocation evidence.
func check(ctx context.Context, out []byte, p *pki) (string, error) {
	r := bytes.NewReader(out)
	d, err := pdf.Open(r, int64(len(out)))
	if err != nil {
		return "", fmt.Errorf("civitas cannot open the output: %w", err)
	}
	sigs, err := d.Signatures()
	if err != nil {
		return "", fmt.Errorf("civitas cannot list the signatures: %w", err)
	}
	if len(sigs) != 1 {
		return "", fmt.Errorf("%d signatures found, want 1", len(sigs))
	}
	s := sigs[0]
	var parts []string
	parts = append(parts, string(s.SubFilter))
	if s.CoversRevision {
		parts = append(parts, "byte range covers the revision")
	} else {
		parts = append(parts, fmt.Sprintf("byte range %v does NOT cover the revision", s.ByteRange))
	}
	h, err := cms.DigestAlgorithm(s.Contents)
	if err != nil {
		return strings.Join(parts, ", "), fmt.Errorf("CMS refused by civitas/internal/cms: %w", err)
	}
	digest, err := pdf.DigestRanges(r, s.ByteRange, h)
	if err != nil {
		return strings.Join(parts, ", "), fmt.Errorf("byte range unreadable: %w", err)
	}
	if _, err := cms.Verify(s.Contents, digest, cms.VerifyOptions{Roots: p.roots}); err != nil {
		parts = append(parts, fmt.Sprintf("CMS refused by civitas/internal/cms (%v)", err))
	} else {
		parts = append(parts, "CMS verifies (digest, signature, chain to the CA)")
	}
	rep, err := pades.Validate(ctx, r, int64(len(out)), pades.Trust{Roots: p.roots}, crlSource{p.crl})
	if err != nil {
		return strings.Join(parts, ", "), fmt.Errorf("pades.Validate: %w", err)
	}
	v := "pades.Validate " + string(rep.Verdict)
	if sr := rep.Signatures[0]; sr.Level != "" {
		v += " at " + string(sr.Level)
	} else if len(sr.Reasons) > 0 {
		v += " " + strings.Join(sr.Reasons, ",")
	}
	parts = append(parts, v)
	return strings.Join(parts, ", "), nil
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

func median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
