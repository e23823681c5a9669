package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"civitas/internal/config"
	"civitas/internal/i18n"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
)

// sealCommand is the fixed contract for agencies' automated issuance:
// civitas seal --data DIR --agency CODE --in IN.pdf --out OUT.pdf [--level B-B|B-T|B-LT|B-LTA] [--visible]
func sealCommand() command {
	var agency, in, out, level, reason string
	var visible bool
	return command{
		name:  "seal",
		usage: "civitas seal --data DIR --agency CODE --in IN.pdf --out OUT.pdf [--level B-B|B-T|B-LT|B-LTA] [--visible]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&agency, "agency", "", "`code` of the agency whose seal signs (issued on first use)")
			fs.StringVar(&in, "in", "", "the PDF `file` to seal")
			fs.StringVar(&out, "out", "", "where to write the sealed PDF (`file`)")
			fs.StringVar(&level, "level", "B-LT", "PAdES baseline `level`: B-B, B-T, B-LT or B-LTA")
			fs.StringVar(&reason, "reason", "", "reason written into the signature (`text`)")
			fs.BoolVar(&visible, "visible", false, "draw the seal on the first page (not available yet)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 0 || agency == "" || in == "" || out == "" {
				return usageError("--agency, --in and --out are required")
			}
			lv := pades.Level(level)
			switch lv {
			case pades.LevelBB, pades.LevelBT, pades.LevelBLT, pades.LevelBLTA:
			default:
				return usageError("--level must be B-B, B-T, B-LT or B-LTA")
			}
			if visible {
				return usageError("--visible: a visible seal appearance is not available yet; the seal is invisible and shows in every PDF reader's signature panel")
			}
			src, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("open --in: %w", err)
			}
			defer src.Close()
			st, err := src.Stat()
			if err != nil {
				return fmt.Errorf("open --in: %w", err)
			}
			s, done, err := openPKI(ctx, c, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer done()
			if !s.Ready() {
				return fmt.Errorf("no CA hierarchy yet: run civitas ca init")
			}
			signer, chain, err := s.Seal(ctx, agency)
			if err != nil {
				return err
			}
			if err := s.StartOnline(ctx); err != nil {
				return err
			}
			tsaChain, err := s.TSAChain()
			if err != nil {
				return err
			}
			// Written beside the output and renamed when complete, so a
			// failure never leaves a half-sealed file under the name asked.
			tmp, err := os.CreateTemp(filepath.Dir(out), ".civitas-seal-*.pdf")
			if err != nil {
				return fmt.Errorf("create --out: %w", err)
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			o := pades.Options{Level: lv, Certificate: chain[0], Chain: chain[1:], Stamper: s.Stamper(), TSAChain: tsaChain, Revocation: s,
				PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, Reason: reason, SignTime: time.Now()}}
			size, err := pades.Sign(ctx, tmp, src, st.Size(), signer, o)
			if err != nil {
				return err
			}
			if err := tmp.Truncate(size); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes files private; a sealed PDF is for publishing
				return fmt.Errorf("write --out: %w", err)
			}
			if err := tmp.Sync(); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			fmt.Fprintf(stdout, "sealed %s as %s at %s by %s (certificate %s)\n", in, out, lv, chain[0].Subject.CommonName,
				strings.ToLower(chain[0].SerialNumber.Text(16)))
			return nil
		},
	}
}

// verifyCommand validates every signature of a PDF (or a .p7s with its
// content), for anyone: exit 0 only when every signature passes.
func verifyCommand() command {
	var asJSON bool
	var content, lang string
	var trust stringList
	return command{
		name:  "verify",
		usage: "civitas verify FILE [--json] [--content FILE (for a .p7s)] [--trust ROOTS.pem ...] [--data DIR]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.BoolVar(&asJSON, "json", false, "print the validation report as JSON")
			fs.StringVar(&content, "content", "", "for a detached .p7s: the signed `file`")
			fs.Var(&trust, "trust", "PEM `file` of trusted root certificates, besides this province's (repeatable)")
			fs.StringVar(&lang, "lang", "en", "`language` of the reasons: vi, en or ar")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 {
				return usageError("name one file to verify")
			}
			roots := x509.NewCertPool()
			anchors := 0
			for _, p := range trust {
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("--trust: %w", err)
				}
				for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
					cert, err := x509.ParseCertificate(blk.Bytes)
					if err != nil {
						return fmt.Errorf("--trust %s: %w", p, err)
					}
					roots.AddCert(cert)
					anchors++
				}
			}
			// This province's root, when its database is here; verifying
			// never creates one.
			var online pades.Revocation
			if c.DB != "" || fileExists(filepath.Join(c.DataDir, "civitas.db")) {
				s, done, err := openPKI(ctx, c, slog.New(slog.DiscardHandler))
				if err != nil {
					return err
				}
				defer done()
				if root, err := s.CA(pki.Root); err == nil {
					roots.AddCert(root.Cert)
					anchors++
					online = s
				}
			}
			if anchors == 0 {
				return usageError("no trusted roots: give --trust ROOTS.pem or --data DIR of a civitas province")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("open: %w", err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return fmt.Errorf("open: %w", err)
			}
			t := pades.Trust{Roots: roots}
			var rep *pades.Report
			if content != "" {
				if st.Size() > 1<<20 {
					return fmt.Errorf("%s is too large for a .p7s signature", args[0])
				}
				p7s, err := io.ReadAll(f)
				if err != nil {
					return fmt.Errorf("read: %w", err)
				}
				data, err := os.Open(content)
				if err != nil {
					return fmt.Errorf("--content: %w", err)
				}
				defer data.Close()
				rep, err = pades.ValidateCMS(ctx, p7s, data, t, online)
				if err != nil {
					return err
				}
			} else if rep, err = pades.Validate(ctx, f, st.Size(), t, online); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printReport(stdout, rep, lang)
			}
			if rep.Verdict != pades.Passed {
				return errNotPassed{rep.Verdict}
			}
			return nil
		},
	}
}

// errNotPassed makes verify exit 1 after its report, with one line saying why.
type errNotPassed struct{ v pades.Verdict }

func (e errNotPassed) Error() string { return "verdict " + string(e.v) }

func printReport(w io.Writer, rep *pades.Report, lang string) {
	cat, _ := i18n.Load()
	if len(rep.Signatures) == 0 {
		fmt.Fprintln(w, "no signatures")
	}
	for i, s := range rep.Signatures {
		kind := "signature"
		if s.DocumentTimestamp {
			kind = "document time-stamp"
		}
		fmt.Fprintf(w, "%d. %s %q: %s\n", i+1, kind, s.Field, s.Verdict)
		if s.SignerName != "" {
			fmt.Fprintf(w, "   signer: %s\n", s.SignerName)
		}
		if !s.SigningTime.IsZero() {
			fmt.Fprintf(w, "   signed: %s", s.SigningTime.UTC().Format(time.RFC3339))
			if s.TimestampTime != nil {
				fmt.Fprint(w, " (time-stamped)")
			}
			fmt.Fprintln(w)
		}
		if s.Level != "" {
			fmt.Fprintf(w, "   level: PAdES %s\n", s.Level)
		}
		fmt.Fprintf(w, "   revocation: %s\n", s.Revocation)
		for _, r := range s.Reasons {
			text := r
			if cat != nil {
				text = cat.T(lang, r)
			}
			fmt.Fprintf(w, "   - %s\n", text)
		}
	}
	fmt.Fprintf(w, "verdict: %s\n", rep.Verdict)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, os.ErrNotExist)
}
