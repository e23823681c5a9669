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
	"sync"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
)

// sealCommand is the fixed contract for agencies' automated issuance:
// civitas seal --data DIR --agency CODE --in IN.pdf --out OUT.pdf [--level B-B|B-T|B-LT|B-LTA] [--visible [--seal-image FILE]]
// With --out ending in .p7s it signs any file beside it instead (seal_detached.go).
func sealCommand() command {
	var agency, in, out, level, reason string
	var visible bool
	var sealImage string
	return command{
		name:  "seal",
		usage: "civitas seal --data DIR --agency CODE --in IN.pdf --out OUT.pdf [--level B-B|B-T|B-LT|B-LTA] [--visible [--seal-image FILE]] | civitas seal --data DIR --agency CODE --in FILE --out FILE.p7s [--level B-B|B-T]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&agency, "agency", "", "`code` of the agency whose seal signs (issued on first use)")
			fs.StringVar(&in, "in", "", "the PDF `file` to seal (any file when --out ends in .p7s)")
			fs.StringVar(&out, "out", "", "where to write the sealed PDF (`file`); a name ending in .p7s gets a detached CAdES signature of --in instead, at B-B or B-T")
			fs.StringVar(&level, "level", "", "baseline `level`: B-B, B-T, B-LT or B-LTA for a PDF (default B-LT); B-B or B-T for a .p7s (default B-T)")
			fs.StringVar(&reason, "reason", "", "reason written into the signature (`text`)")
			fs.BoolVar(&visible, "visible", false, "draw the seal at the bottom right of the first page: the agency, the signing time, the reason")
			fs.StringVar(&sealImage, "seal-image", "", "with --visible: a PNG or JPEG `file` of the seal, drawn beside the text")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 0 || agency == "" || in == "" || out == "" {
				return usageError("--agency, --in and --out are required")
			}
			if level == "" {
				level = "B-LT"
				if wantsDetached(out) {
					level = "B-T"
				}
			}
			lv := pades.Level(level)
			switch lv {
			case pades.LevelBB, pades.LevelBT, pades.LevelBLT, pades.LevelBLTA:
			default:
				return usageError("--level must be B-B, B-T, B-LT or B-LTA")
			}
			if wantsDetached(out) { // a detached CAdES signature of any file: seal_detached.go
				return sealDetached(ctx, c, detachedSeal{agency: agency, in: in, out: out, level: lv, reason: reason, visible: visible || sealImage != ""}, stdout)
			}
			if sealImage != "" && !visible {
				return usageError("--seal-image needs --visible")
			}
			var look *pdf.Appearance
			if visible {
				// Font and image are read before any key is touched, so a
				// machine without fonts fails at once.
				var err error
				if look, err = sealAppearance(sealImage); err != nil {
					return err
				}
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
			var cert *x509.Certificate
			var sealErr error
			err = writeAtomic(out, 0o644, func(f *os.File) error { // a sealed PDF is for publishing
				size, seal, err := app.SealPDF(ctx, s, f, src, st.Size(), app.Seal{Agency: agency, Level: lv, Reason: reason, Time: time.Now(), Appearance: look})
				if err != nil {
					sealErr = err
					return err
				}
				cert = seal
				return f.Truncate(size)
			})
			if sealErr != nil {
				return sealErr
			}
			if err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			fmt.Fprintf(stdout, "sealed %s as %s at %s by %s (certificate %s)\n", in, out, lv, cert.Subject.CommonName,
				strings.ToLower(cert.SerialNumber.Text(16)))
			return nil
		},
	}
}

// sealAppearance loads what a visible seal is drawn with: the system font
// (DejaVu Sans, from fonts-dejavu-core) and the seal image, if any.
func sealAppearance(imagePath string) (*pdf.Appearance, error) {
	b, err := pdf.SystemFont()
	if err != nil {
		return nil, err
	}
	font, err := pdf.ParseFont(b)
	if err != nil {
		return nil, err
	}
	look := &pdf.Appearance{Font: font}
	if imagePath != "" {
		b, err := os.ReadFile(imagePath)
		if err != nil {
			return nil, fmt.Errorf("--seal-image: %w", err)
		}
		if look.Image, err = pdf.ParseImage(b); err != nil {
			return nil, err
		}
	}
	return look, nil
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
			// This province's root and the anchors imported into it, when
			// its database is here (read without opening any key; verifying
			// never creates a province); then the files given.
			roots, anchors := x509.NewCertPool(), 0
			var online pades.Revocation
			if c.DB != "" || fileExists(filepath.Join(c.DataDir, "civitas.db")) {
				d, err := openDB(ctx, c)
				if err != nil {
					return err
				}
				defer d.Close()
				if roots, anchors, err = pki.NewAnchors(d, kernel.SystemClock{}).Roots(ctx); err != nil {
					return err
				}
				if anchors > 0 {
					// Asked only when a file does not carry its own evidence.
					lazy := &lazyRevocation{open: func() (pades.Revocation, func(), error) {
						return openPKI(ctx, c, slog.New(slog.DiscardHandler))
					}}
					defer lazy.close()
					online = pki.Sources{lazy, pki.NewFetcher()}
				}
			}
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
			if online == nil {
				online = pki.NewFetcher()
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
	cat, _ := i18n.LoadLanguage(lang)
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

// lazyRevocation opens the province's trust services the first time a
// validation needs revocation evidence the file does not carry: verifying
// a B-LT file never opens the key backend.
type lazyRevocation struct {
	open func() (pades.Revocation, func(), error)
	once sync.Once
	r    pades.Revocation
	done func()
	err  error
}

var _ pades.Revocation = (*lazyRevocation)(nil)

func (l *lazyRevocation) Evidence(ctx context.Context, chain []*x509.Certificate) (ocsps, crls [][]byte, err error) {
	l.once.Do(func() { l.r, l.done, l.err = l.open() })
	if l.err != nil {
		return nil, nil, l.err
	}
	return l.r.Evidence(ctx, chain)
}

func (l *lazyRevocation) close() {
	if l.done != nil {
		l.done()
	}
}
