package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"civitas/internal/config"
	"civitas/internal/kernel"
	"civitas/internal/pki"
)

// trustCommand manages the trust anchors validation accepts besides this
// province's root: the national root CA, other provinces' roots.
func trustCommand() command {
	var name string
	var asJSON bool
	return command{
		name:  "trust",
		usage: "civitas trust add --data DIR --name NAME ROOTS.pem | civitas trust list --data DIR [--json] | civitas trust remove --data DIR FINGERPRINT",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&name, "name", "", "add: what to call the anchor (`text`), e.g. \"Root CA quốc gia\"")
			fs.BoolVar(&asJSON, "json", false, "list: one JSON object per line")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) == 0 {
				return usageError("expected: civitas trust add | list | remove")
			}
			switch {
			case args[0] == "add" && (len(args) != 2 || name == ""):
				return usageError("civitas trust add --name NAME ROOTS.pem")
			case args[0] == "list" && len(args) != 1, args[0] == "remove" && len(args) != 2:
				return usageError("civitas trust list | civitas trust remove FINGERPRINT")
			case args[0] != "add" && args[0] != "list" && args[0] != "remove":
				return usageError("expected: civitas trust add | list | remove")
			}
			var certs []*x509.Certificate
			if args[0] == "add" {
				// Read and parse before touching the database.
				b, err := os.ReadFile(args[1])
				if err != nil {
					return fmt.Errorf("read: %w", err)
				}
				for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
					if blk.Type != "CERTIFICATE" {
						continue
					}
					cert, err := x509.ParseCertificate(blk.Bytes)
					if err != nil {
						return fmt.Errorf("%s: not a certificate: %w", args[1], err)
					}
					certs = append(certs, cert)
				}
				if len(certs) == 0 {
					return fmt.Errorf("%s holds no PEM certificate", args[1])
				}
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			a := pki.NewAnchors(d, kernel.SystemClock{})
			actx := kernel.WithActor(ctx, kernel.System("operator"))
			switch args[0] {
			case "add":
				for _, cert := range certs {
					an, err := a.Add(actx, name, cert)
					if err != nil {
						return fmt.Errorf("%s: %w", cert.Subject, err)
					}
					fmt.Fprintf(stdout, "trusted %s (%s) as %q\n", an.Cert.Subject, an.Fingerprint, an.Name)
				}
			case "remove":
				if err := a.Remove(actx, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "no longer trusted: %s\n", args[1])
			case "list":
				list, err := a.List(ctx)
				if err != nil {
					return err
				}
				for _, an := range list {
					if asJSON {
						b, _ := json.Marshal(map[string]any{"fingerprint": an.Fingerprint, "name": an.Name, "subject": an.Cert.Subject.String(),
							"not_after": an.Cert.NotAfter.UTC().Format(time.RFC3339), "added_at": an.AddedAt.Format(time.RFC3339)})
						fmt.Fprintf(stdout, "%s\n", b)
						continue
					}
					fmt.Fprintf(stdout, "%s  %s  %s (until %s)\n", an.Fingerprint, an.Name, an.Cert.Subject, an.Cert.NotAfter.UTC().Format("2006-01-02"))
				}
			}
			return nil
		},
	}
}
