package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"civitas/internal/app"
	"civitas/internal/backup"
	"civitas/internal/config"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/pki"
	"civitas/internal/sealed"
)

func keysCommand() command {
	var what, newKeyFile string
	var ahead time.Duration
	return command{
		name:  "keys",
		usage: "civitas keys list | rotate --what oidc|seal:AGENCY|statuslist:AGENCY|ocsp|tsa|audit [--ahead DURATION] | rewrap --new-key-file FILE  [--data DIR] [--db DSN] [--key-file FILE]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&what, "what", "", "rotate: `which` key: oidc (the OpenID Provider's signing key), seal:AGENCY or statuslist:AGENCY (an agency's seal, which signs its credentials and status lists), ocsp (both OCSP signers), tsa, audit (the checkpoints' seal)")
			fs.DurationVar(&ahead, "ahead", oidc.DefaultPublishAhead, "rotate --what oidc: how long the new key is published before it signs (at least "+oidc.MinPublishAhead.String()+")")
			fs.StringVar(&newKeyFile, "new-key-file", "", "rewrap: `file` with the new key-encryption key (64 hex digits: openssl rand -hex 32)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			switch {
			case len(args) == 1 && args[0] == "list":
				return keysList(ctx, c, stdout)
			case len(args) == 1 && args[0] == "rotate":
				return keysRotate(ctx, c, what, ahead, stdout)
			case len(args) == 1 && args[0] == "rewrap":
				return keysRewrap(ctx, c, newKeyFile, stdout)
			}
			return usageError("expected: civitas keys list | rotate --what ... | rewrap --new-key-file FILE")
		},
	}
}

// keysList shows the OpenID Provider's keys and the service certificates.
func keysList(ctx context.Context, c config.Config, stdout io.Writer) error {
	log := c.Logger(os.Stderr)
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	box, err := app.OpenBox(c, log)
	if err != nil {
		return err
	}
	p, err := app.OpenOIDCKeys(ctx, d, kernel.SystemClock{}, box, log)
	if err != nil {
		return err
	}
	keys, err := p.Keys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tID / SERIAL\tSTATE / VALID UNTIL\tSIGNS FROM")
	for _, k := range keys {
		fmt.Fprintf(tw, "oidc\t%s\t%s\t%s\n", k.Kid, k.State, k.ActiveFrom.Format(time.RFC3339))
	}
	s, done, err := openPKI(ctx, c, log)
	if err != nil {
		return err
	}
	defer done()
	for _, name := range pki.Services {
		ca, err := s.CA(name)
		if err != nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%x\t%s\t%s\n", name, ca.Cert.SerialNumber, ca.Cert.NotAfter.Format(time.RFC3339), ca.Cert.NotBefore.Format(time.RFC3339))
	}
	seals, err := s.Seals(ctx)
	if err != nil {
		return err
	}
	for _, sc := range seals {
		fmt.Fprintf(tw, "seal:%s\t%x\t%s\t%s\n", sc.Agency, sc.Cert.SerialNumber, sc.Cert.NotAfter.Format(time.RFC3339), sc.Cert.NotBefore.Format(time.RFC3339))
	}
	return tw.Flush()
}

// keysRotate rotates one key, audited, while servers run.
func keysRotate(ctx context.Context, c config.Config, what string, ahead time.Duration, stdout io.Writer) error {
	log := c.Logger(os.Stderr)
	switch {
	case what == "oidc":
		d, err := openDB(ctx, c)
		if err != nil {
			return err
		}
		defer d.Close()
		box, err := app.OpenBox(c, log)
		if err != nil {
			return err
		}
		p, err := app.OpenOIDCKeys(ctx, d, kernel.SystemClock{}, box, log)
		if err != nil {
			return err
		}
		k, err := p.Rotate(ctx, ahead)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new OpenID Provider signing key %s published now; it signs from %s; the key it replaces stays published a day after that, so its tokens verify until they expire\n",
			k.Kid, k.ActiveFrom.Format(time.RFC3339))
		return nil
	case strings.HasPrefix(what, "seal:"), strings.HasPrefix(what, "statuslist:"):
		_, agency, _ := strings.Cut(what, ":")
		if agency == "" {
			return usageError("--what seal:AGENCY names the agency by its code")
		}
		s, done, err := openPKI(ctx, c, log)
		if err != nil {
			return err
		}
		defer done()
		r, err := s.RotateSeal(ctx, agency)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "agency %s has a new seal %s (replacing %s, which stays valid): its credentials, status lists and sealed PDFs carry it from now on (status lists at their next rebuild, within minutes)\n",
			agency, r.Serial, orNone(r.OldSerial))
		return nil
	case what == "ocsp", what == pki.TSA, what == pki.AuditSeal:
		names := []string{what}
		if what == "ocsp" {
			names = []string{pki.OCSPCitizens, pki.OCSPOfficials}
		}
		s, done, err := openPKI(ctx, c, log)
		if err != nil {
			return err
		}
		defer done()
		for _, n := range names {
			r, err := s.RotateService(ctx, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: new key and certificate %s (replacing %s, which stays valid for what it signed); running servers take it within %s\n",
				n, r.Serial, r.OldSerial, pki.RevocationPoll)
		}
		return nil
	}
	return usageError("--what must be oidc, seal:AGENCY, statuslist:AGENCY, ocsp, tsa or audit")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// keysRewrap moves every sealed secret to a new key-encryption key.
func keysRewrap(ctx context.Context, c config.Config, newKeyFile string, stdout io.Writer) error {
	if newKeyFile == "" {
		return usageError("--new-key-file is required")
	}
	log := c.Logger(os.Stderr)
	keys, err := sealed.LoadKeyFile(newKeyFile)
	if err != nil {
		return fmt.Errorf("--new-key-file: %w", err)
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	from, err := app.OpenBox(c, log)
	if err != nil {
		return err
	}
	res, err := app.RewrapKEK(ctx, d, kernel.SystemClock{}, from, keys[0], log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d sealed values, %d sealed again under the new key-encryption key %s; all %d open under it alone\n",
		res.Values, res.Rewrapped, res.NewKEKID, res.Checked)
	fmt.Fprintf(stdout, "next: start every server with --key-file %s alone (key id %s); keep the old key until the backups made before today have expired\n",
		newKeyFile, backup.KEKID(keys[0]))
	return nil
}
