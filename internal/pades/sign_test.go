package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki/pkitest"
)

func pdfOptions(name string) pdf.SignOptions {
	return pdf.SignOptions{Name: name, Reason: "Xác nhận", Location: "Hà Nội"}
}

var levels = []pades.Level{pades.LevelBB, pades.LevelBT, pades.LevelBLT, pades.LevelBLTA}

func qpdfCheck(t testing.TB, path string) {
	t.Helper()
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
		t.Fatalf("qpdf --check %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// checkPdfsig: poppler finds want signatures, every CMS signature valid
// and trusted. Poppler 22.12 lists a document time-stamp (signed by our
// TSA) with "Signature Type: unknown" and does not verify it: those are
// counted, and checked by our validator instead.
func checkPdfsig(t testing.TB, nss, path string, want int, docTimestamps int) {
	t.Helper()
	blocks := pdfsig(t, nss, path)
	if len(blocks) != want {
		t.Fatalf("pdfsig found %d signatures, want %d:\n%s", len(blocks), want, strings.Join(blocks, ""))
	}
	ts := 0
	for i, b := range blocks {
		if strings.Contains(b, "Common Name: Civitas TSA") {
			ts++
			checkPdfsigTime(t, b)
			continue
		}
		if !strings.Contains(b, "Signature Validation: Signature is Valid.") {
			t.Errorf("pdfsig: signature %d not valid:\n%s", i+1, b)
		}
		if !strings.Contains(b, "Certificate Validation: Certificate is Trusted.") {
			t.Errorf("pdfsig: signature %d not trusted:\n%s", i+1, b)
		}
	}
	if ts != docTimestamps {
		t.Errorf("pdfsig lists %d document time-stamps, want %d:\n%s", ts, docTimestamps, strings.Join(blocks, ""))
	}
}

// pdfsigTime is the "Signing Time" line of a pdfsig report.
var pdfsigTime = regexp.MustCompile(`(?m)^\s*- Signing Time: (.+)$`)

// checkPdfsigTime: poppler shows a document time-stamp's /M as its signing
// time (it does not read the token); without /M it shows the epoch, "Jan 01
// 1970". The time must be today's, give or take a day for time zones.
func checkPdfsigTime(t testing.TB, block string) {
	t.Helper()
	m := pdfsigTime.FindStringSubmatch(block)
	if m == nil {
		t.Errorf("pdfsig shows no signing time for the document time-stamp:\n%s", block)
		return
	}
	at, err := time.Parse("Jan 02 2006 15:04:05", strings.TrimSpace(m[1]))
	if err != nil {
		t.Errorf("pdfsig's signing time %q does not parse: %v", m[1], err)
		return
	}
	if d := time.Since(at); d < -24*time.Hour || d > 24*time.Hour {
		t.Errorf("pdfsig shows the document time-stamp signed at %s", m[1])
	}
}

// TestLevelsCorpus signs each kind of input at each level and has qpdf,
// poppler and our validator check the result. B-LT and B-LTA are validated
// offline: the DSS alone must prove the signer was not revoked.
func TestLevelsCorpus(t *testing.T) {
	needTool(t, "qpdf", "pdfsig", "certutil")
	e := newEnv(t)
	nss := e.nssDB(t)
	dir := t.TempDir()
	files := corpus(t, dir)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, level := range levels {
			t.Run(fmt.Sprintf("ok/%s/%s", name, level), func(t *testing.T) {
				out := filepath.Join(dir, fmt.Sprintf("%s-%s.pdf", name, level))
				signFile(t, files[name], out, e.seal.Key, e.options(e.seal, level, "UBND Phường 1"))
				qpdfCheck(t, out)
				want, ts := 1, 0
				if level == pades.LevelBLTA {
					want, ts = 2, 1
				}
				checkPdfsig(t, nss, out, want, ts)

				var online pades.Revocation
				if level == pades.LevelBB || level == pades.LevelBT {
					online = e.rev // nothing in the file says the signer was not revoked
				}
				rep := validateFile(t, e, out, e.trust, online)
				if rep.Verdict != pades.Passed || len(rep.Signatures) != want {
					t.Fatalf("verdict %s, %d reports: %+v", rep.Verdict, len(rep.Signatures), rep.Signatures)
				}
				s := rep.Signatures[0]
				if s.Level != level || s.SignerName != "UBND Phường 1" || s.Revocation != "good" || !s.CoversWholeRevision || s.ModifiedAfter {
					t.Errorf("report %+v, want level %s", s, level)
				}
				if (level != pades.LevelBB) != (s.TimestampTime != nil) {
					t.Errorf("time-stamp time %v at %s", s.TimestampTime, level)
				}
				if level == pades.LevelBLTA && !rep.Signatures[1].DocumentTimestamp {
					t.Errorf("second report is not the document time-stamp: %+v", rep.Signatures[1])
				}
			})
		}
	}
}

// TestThreeSignatures: a citizen (B-T), a leader (B-LT) and the agency
// seal (B-LTA) sign one file in turn, then the file is renewed with Extend.
func TestThreeSignatures(t *testing.T) {
	needTool(t, "qpdf", "pdfsig", "certutil")
	e := newEnv(t)
	nss := e.nssDB(t)
	dir := t.TempDir()
	for name, in := range corpus(t, dir) {
		t.Run("ok/"+name, func(t *testing.T) {
			steps := []struct {
				who   pkitest.Party
				level pades.Level
				name  string
			}{{e.Signer, pades.LevelBT, "Nguyễn Thị Ánh"}, {e.leader, pades.LevelBLT, "Trần Văn Bình"}, {e.seal, pades.LevelBLTA, "UBND Phường 1"}}
			cur := in
			for i, s := range steps {
				next := filepath.Join(dir, fmt.Sprintf("%s-three-%d.pdf", name, i+1))
				signFile(t, cur, next, s.who.Key, e.options(s.who, s.level, s.name))
				qpdfCheck(t, next)
				cur = next
			}
			checkPdfsig(t, nss, cur, 4, 1)
			rep := validateFile(t, e, cur, e.trust, e.rev)
			if rep.Verdict != pades.Passed || len(rep.Signatures) != 4 {
				t.Fatalf("verdict %s: %+v", rep.Verdict, rep.Signatures)
			}
			got := []pades.Level{rep.Signatures[0].Level, rep.Signatures[1].Level, rep.Signatures[2].Level}
			// The seal's document time-stamp covers the leader's DSS
			// evidence too, so the leader's signature reaches B-LTA.
			if want := []pades.Level{pades.LevelBT, pades.LevelBLTA, pades.LevelBLTA}; !slices.Equal(got, want) {
				t.Errorf("levels %v, want %v", got, want)
			}
			for _, s := range rep.Signatures {
				if s.ModifiedAfter || !s.CoversWholeRevision {
					t.Errorf("%s: modified %v, covers %v", s.Field, s.ModifiedAfter, s.CoversWholeRevision)
				}
			}

			// Renewal: DSS for the last document time-stamp and a new one.
			renewed := filepath.Join(dir, name+"-renewed.pdf")
			src, _ := os.Open(cur)
			defer src.Close()
			st, _ := src.Stat()
			dst, _ := os.OpenFile(renewed, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
			defer dst.Close()
			if _, err := pades.Extend(context.Background(), dst, src, st.Size(), e.options(e.seal, pades.LevelBLTA, "")); err != nil {
				t.Fatal(err)
			}
			qpdfCheck(t, renewed)
			checkPdfsig(t, nss, renewed, 5, 2)
			rep = validateFile(t, e, renewed, e.trust, nil)
			// Offline now: the citizen's B-T signature has no evidence in
			// the file, the rest must pass on the DSS alone.
			for i, s := range rep.Signatures {
				if i == 0 {
					if s.Verdict != pades.Indeterminate || !slices.Contains(s.Reasons, "pades.reason.revocation_unknown") {
						t.Errorf("citizen offline: %+v", s)
					}
					continue
				}
				if s.Verdict != pades.Passed {
					t.Errorf("signature %d offline after renewal: %+v", i+1, s)
				}
			}
		})
	}
}

// TestTwoPhase: Begin, a session stored as JSON, the holder's signature
// minutes later, Complete: the file is the one Sign writes, but for the
// signature value.
func TestTwoPhase(t *testing.T) {
	e := newEnv(t)
	in := testPDF(1, 0)
	ctx := context.Background()
	for _, level := range levels {
		t.Run("ok/"+string(level), func(t *testing.T) {
			o := e.options(e.Signer, level, "Nguyễn Thị Ánh")
			o.PDF.SignTime = time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
			var a memFile
			s, err := pades.Begin(ctx, &a, bytes.NewReader(in), int64(len(in)), o)
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back pades.Session
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			sig, err := e.Signer.Key.Sign(rand.Reader, back.ToSign(), crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			n, err := pades.Complete(ctx, &a, &back, sig, pades.Options{Stamper: e.stamper, Revocation: e.rev, TSAChain: o.TSAChain})
			if err != nil {
				t.Fatal(err)
			}
			var b memFile
			m, err := pades.Sign(ctx, &b, bytes.NewReader(in), int64(len(in)), e.Signer.Key, o)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(a.b)) || m != int64(len(b.b)) {
				t.Fatalf("sizes %d/%d and %d/%d", n, len(a.b), m, len(b.b))
			}
			// Up to the end of the signed revision the files are equal
			// but for /Contents (ECDSA signatures are randomised).
			p := back.Prepared
			if !bytes.Equal(a.b[:p.ByteRange[1]], b.b[:p.ByteRange[1]]) || !bytes.Equal(a.b[p.ByteRange[2]:p.Size], b.b[p.ByteRange[2]:p.Size]) {
				t.Error("Begin/Complete and Sign wrote different signed bytes")
			}
			for _, f := range []*memFile{&a, &b} {
				rep, err := pades.Validate(ctx, f, int64(len(f.b)), e.trust, e.rev)
				if err != nil || rep.Verdict != pades.Passed || rep.Signatures[0].Level != level {
					t.Fatalf("%v %+v", err, rep)
				}
			}
		})
	}
	t.Run("fail/wrong_key", func(t *testing.T) {
		var a memFile
		s, err := pades.Begin(ctx, &a, bytes.NewReader(in), int64(len(in)), e.options(e.Signer, pades.LevelBB, ""))
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := e.leader.Key.Sign(rand.Reader, s.ToSign(), crypto.SHA256)
		if _, err := pades.Complete(ctx, &a, s, sig, pades.Options{}); err == nil {
			t.Fatal("a signature by another key was accepted")
		}
	})
	t.Run("fail/options", func(t *testing.T) {
		for name, o := range map[string]pades.Options{
			"level":      {Level: "B-X", Certificate: e.Signer.Cert},
			"stamper":    {Level: pades.LevelBT, Certificate: e.Signer.Cert},
			"revocation": {Level: pades.LevelBLT, Certificate: e.Signer.Cert, Stamper: e.stamper},
		} {
			if _, err := pades.Begin(ctx, &memFile{}, bytes.NewReader(in), int64(len(in)), o); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}

// A key backend's own coded error (a token that cannot sign now) reaches
// the caller with its code and message; any other failure of the key is
// internal.
func TestSignKeyFailure(t *testing.T) {
	e := newEnv(t)
	in := testPDF(1, 0)
	unavailable := kernel.E(kernel.Unavailable, "error.unavailable")
	for _, tc := range []struct {
		name string
		err  error
		code kernel.Code
		key  string
	}{
		{"fail/coded failure keeps its code", unavailable, kernel.Unavailable, "error.unavailable"},
		{"fail/plain failure is internal", errors.New("token unplugged"), kernel.Internal, "error.internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f memFile
			key := pkitest.FailingSigner{Signer: e.Signer.Key, Err: tc.err}
			_, err := pades.Sign(context.Background(), &f, bytes.NewReader(in), int64(len(in)), key, e.options(e.Signer, pades.LevelBB, "x"))
			if got, _ := kernel.ErrorKey(err); kernel.ErrorCode(err) != tc.code || got != tc.key || !errors.Is(err, tc.err) {
				t.Fatalf("error %v: code %q key %q, want %q %q", err, kernel.ErrorCode(err), got, tc.code, tc.key)
			}
		})
	}
}
