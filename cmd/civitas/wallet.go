package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// walletCommand is the fixed contract for operators' bulk issuance:
// civitas wallet issue --data DIR --agency CODE --citizen-id ID --type TYPE [--claims FILE.json] --out FILE
// civitas wallet types --data DIR [--json]
// An addition that changes none of it: issue --plate PLATE names which of
// the person's vehicles a vehicle_registration from the registry is for.
func walletCommand() command {
	var agency, citizenID, org, typ, claimsFile, out, plate string
	var asJSON bool
	return command{
		name:  "wallet",
		usage: "civitas wallet issue --data DIR --agency CODE (--citizen-id ID | --org REG-NUMBER) --type TYPE [--claims FILE.json | --plate PLATE] --out FILE | civitas wallet types --data DIR [--json]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&agency, "agency", "", "issue: `code` of the issuing agency (its seal signs)")
			fs.StringVar(&citizenID, "citizen-id", "", "issue: the holder's citizen ID `number`")
			fs.StringVar(&org, "org", "", "issue: the holding organisation's enterprise `code` (instead of --citizen-id)")
			fs.StringVar(&typ, "type", "", "issue: document type `code` (see civitas wallet types)")
			fs.StringVar(&claimsFile, "claims", "", "issue: JSON `file` of the document's claims; without it they come from the registry holding the type")
			fs.StringVar(&plate, "plate", "", "issue: number `plate` of the vehicle a vehicle_registration from the registry is for, when the person owns several")
			fs.StringVar(&out, "out", "", "issue: where to write the SD-JWT VC with all its disclosures (`file`)")
			fs.BoolVar(&asJSON, "json", false, "types: one JSON object per line")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 || args[0] != "issue" && args[0] != "types" {
				return usageError("expected: civitas wallet issue | civitas wallet types")
			}
			if args[0] == "types" {
				cat, err := wallet.LoadCatalogue(filepath.Join(c.DataDir, "wallet", "types"))
				if err != nil {
					return err
				}
				for _, t := range cat.Types() {
					if asJSON {
						b, _ := json.Marshal(map[string]any{"code": t.Code, "names": t.Names, "holder": t.Holder, "issuers": t.Issuers,
							"validity": t.Validity, "offline": t.Offline, "source": t.Source})
						fmt.Fprintf(stdout, "%s\n", b)
						continue
					}
					fmt.Fprintf(stdout, "%-24s %s / %s\n", t.Code, t.Name("vi"), t.Name("en"))
				}
				return nil
			}
			if agency == "" || typ == "" || out == "" || (citizenID == "") == (org == "") {
				return usageError("--agency, --type, --out and one of --citizen-id or --org are required")
			}
			if plate != "" && claimsFile != "" {
				return usageError("--plate chooses a vehicle from the registry: give it without --claims")
			}
			h := wallet.Holder{Kind: wallet.HolderPerson, ID: citizenID}
			if org != "" {
				h = wallet.Holder{Kind: wallet.HolderOrganisation, ID: org}
			}
			var claims map[string]any
			if claimsFile != "" {
				b, err := os.ReadFile(claimsFile)
				if err != nil {
					return fmt.Errorf("--claims: %w", err)
				}
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.UseNumber()
				if err := dec.Decode(&claims); err != nil || claims == nil {
					return fmt.Errorf("--claims %s: a JSON object of claims is needed", claimsFile)
				}
			}
			w, done, err := openWalletIssuer(ctx, c, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer done()
			doc, err := w.Issue(kernel.WithActor(ctx, kernel.System("operator")), wallet.Issuance{Agency: agency, Type: typ, Holder: h, Claims: claims, Record: plate})
			if err != nil {
				return err
			}
			// The credential with all its disclosures: the holder's alone.
			if err := writeFileAtomic(out, []byte(doc.Credential+"\n"), 0o600); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			fmt.Fprintf(stdout, "issued %s %s to %s %s by %s (expires %s)\n", doc.Type, doc.ID, h.Kind, h.ID, agency, expiry(doc.ExpiresAt.IsZero(), doc.ExpiresAt.Format("2006-01-02")))
			return nil
		},
	}
}

// openWalletIssuer opens what issuing needs on one database handle (one
// writer on the file, as in the server): the trust services, whose agency
// seals sign, and the wallet on them. done closes them all.
func openWalletIssuer(ctx context.Context, c config.Config, log *slog.Logger) (_ *wallet.Service, _ func(), err error) {
	d, err := openDB(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	var closers []func()
	done := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		d.Close()
	}
	defer func() {
		if err != nil {
			done()
		}
	}()
	clock := kernel.SystemClock{}
	box, err := app.OpenBox(c, log)
	if err != nil {
		return nil, nil, err
	}
	keys, closeKeys, err := app.OpenKeys(c, d, clock, box)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, closeKeys)
	ca, err := app.OpenPKI(ctx, d, clock, box, keys, c, log)
	if err != nil {
		return nil, nil, err
	}
	if !ca.Ready() {
		return nil, nil, fmt.Errorf("no CA hierarchy yet: run civitas ca init")
	}
	if c.PublicURL == "" {
		c.PublicURL = ca.PublicURL() // the issuer the province's certificates name
	}
	w, status, err := app.OpenWallet(d, clock, box, ca, registry.New(d, clock), c, log, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, status.Close)
	return w, done, nil
}

func expiry(never bool, date string) string {
	if never {
		return "never"
	}
	return date
}
