package main

import (
	"context"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/kernel"
	"civitas/internal/pki"
)

// openPKI opens the database and the trust services for an operator command.
func openPKI(ctx context.Context, c config.Config, log *slog.Logger) (*pki.Service, func(), error) {
	d, err := openDB(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	box, err := app.OpenBox(c, log)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	keys, closeKeys, err := app.OpenKeys(c, d, kernel.SystemClock{}, box)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	s, err := app.OpenPKI(ctx, d, kernel.SystemClock{}, box, keys, c, log)
	if err != nil {
		closeKeys()
		d.Close()
		return nil, nil, err
	}
	return s, func() { closeKeys(); d.Close() }, nil
}

func caCommand() command {
	var out string
	return command{
		name:  "ca",
		usage: "civitas ca init --data DIR [--key-backend software|pkcs11 --pkcs11-module PATH --pkcs11-token LABEL] [--public-url URL] | civitas ca export --data DIR --out DIR",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "public `URL` written into the certificates (AIA, OCSP, CRL); default http://127.0.0.1:8080")
			fs.StringVar(&out, "out", "", "export: `directory` to write the CA certificates to, as PEM")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 || args[0] != "init" && args[0] != "export" {
				return usageError("expected: civitas ca init | civitas ca export")
			}
			if c.PublicURL == "" {
				c.PublicURL = "http://127.0.0.1:8080"
			}
			if args[0] == "export" && out == "" {
				return usageError("--out is required")
			}
			log := slog.New(slog.DiscardHandler)
			s, done, err := openPKI(ctx, c, log)
			if err != nil {
				return err
			}
			defer done()
			if args[0] == "init" {
				created, err := s.Init(ctx)
				if err != nil {
					return err
				}
				if len(created) == 0 {
					fmt.Fprintln(stdout, "the CA hierarchy exists already; nothing created")
				} else {
					fmt.Fprintf(stdout, "created: %s (keys: %s)\n", strings.Join(created, ", "), c.KeyBackend)
				}
				return nil
			}
			if !s.Ready() {
				return fmt.Errorf("no CA hierarchy yet: run civitas ca init")
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("create --out: %w", err)
			}
			var names []string
			for _, name := range append([]string{pki.Root}, pki.IssuingCAs...) {
				ca, err := s.CA(name)
				if err != nil {
					return err
				}
				p := filepath.Join(out, name+".pem")
				if err := writeFileAtomic(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644); err != nil {
					return fmt.Errorf("write %s: %w", p, err)
				}
				names = append(names, filepath.Base(p))
			}
			fmt.Fprintf(stdout, "wrote %s to %s\n", strings.Join(names, ", "), out)
			return nil
		},
	}
}

func certCommand() command {
	var citizenID, agency, out, serial, reason string
	return command{
		name:  "cert",
		usage: "civitas cert issue --data DIR (--citizen-id ID [--agency CODE] | --agency CODE) --out FILE.pem | civitas cert revoke --data DIR --serial HEX --reason REASON",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&citizenID, "citizen-id", "", "issue: citizen ID `number` of a level-2 e-ID account holder")
			fs.StringVar(&agency, "agency", "", "issue: agency `code`; with --citizen-id, a certificate of the official at their post there; alone, the agency's seal")
			fs.StringVar(&out, "out", "", "issue: `file` to write the certificate to, as PEM (the key stays in the key backend)")
			fs.StringVar(&serial, "serial", "", "revoke: serial `number` in hex")
			fs.StringVar(&reason, "reason", "", "revoke: RFC 5280 `reason`: "+reasonNames())
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 || args[0] != "issue" && args[0] != "revoke" {
				return usageError("expected: civitas cert issue | civitas cert revoke")
			}
			var n int
			var err error
			if args[0] == "issue" && (citizenID == "" && agency == "" || out == "") {
				return usageError("--out and --citizen-id or --agency are required")
			}
			if args[0] == "revoke" {
				code, ok := pki.Reasons[reason]
				if serial == "" || !ok {
					return usageError("--serial and --reason (" + reasonNames() + ") are required")
				}
				n = code
			}
			log := slog.New(slog.DiscardHandler)
			s, done, err := openPKI(ctx, c, log)
			if err != nil {
				return err
			}
			defer done()
			if !s.Ready() {
				return fmt.Errorf("no CA hierarchy yet: run civitas ca init")
			}
			actx := kernel.WithActor(ctx, kernel.System("operator"))
			if args[0] == "revoke" {
				sn, err := pki.ParseSerial(serial)
				if err != nil {
					return err
				}
				if err := s.Revoke(actx, sn, n); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "certificate %s revoked (%s)\n", strings.ToLower(sn.Text(16)), reason)
				return nil
			}
			var issued pki.Issued
			holder := citizenID
			switch {
			case agency == "":
				issued, err = s.IssueCitizen(actx, citizenID)
			case citizenID == "":
				issued, err = s.IssueSeal(actx, agency)
				holder = "agency " + agency
			default:
				issued, err = s.IssueOfficial(actx, citizenID, agency)
				holder = citizenID + " at " + agency
			}
			if err != nil {
				return err
			}
			if err := writeFileAtomic(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issued.Cert.Raw}), 0o644); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			fmt.Fprintf(stdout, "certificate %s issued to %s, written to %s\n", strings.ToLower(issued.Cert.SerialNumber.Text(16)), holder, out)
			return nil
		},
	}
}

func reasonNames() string {
	names := make([]string, 0, len(pki.Reasons))
	for n := range pki.Reasons {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
