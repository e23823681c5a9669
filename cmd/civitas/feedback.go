package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"civitas/internal/config"
	"civitas/internal/feedback"
	"civitas/internal/kernel"
)

// feedbackCommand manages the API keys of Open311 client apps: apps that
// send citizens' reports to /open311/v2/ (a messaging app's mini-app, a
// district's own app).
func feedbackCommand() command {
	var name, id, kind, from, to, nameProp string
	var asJSON bool
	return command{
		name:  "feedback",
		usage: "civitas feedback apikey --name APP | revoke --client ID | clients [--json] | layer --name NAME --kind zoning|project [--from DAY] [--to DAY] [--name-property P] FILE.geojson  [--data DIR] [--db DSN]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&name, "name", "", "the client app's `name` (apikey)")
			fs.StringVar(&id, "client", "", "the client's `ID` (revoke)")
			fs.BoolVar(&asJSON, "json", false, "clients: JSON lines")
			fs.StringVar(&kind, "kind", "zoning", "layer: `zoning` (land-use planning zones) or project (planned works)")
			fs.StringVar(&from, "from", "", "layer: first `day` in force, 2006-01-02 (default: always)")
			fs.StringVar(&to, "to", "", "layer: last `day` in force (default: for ever)")
			fs.StringVar(&nameProp, "name-property", "", "layer: the `property` naming each feature (default: name, ten or NAME)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, stderr io.Writer) error {
			if len(args) == 2 && args[0] == "layer" {
				return importLayer(ctx, c, args[1], feedback.LayerDraft{Name: name, Kind: kind, ValidFrom: from, ValidTo: to, NameProperty: nameProp}, stdout)
			}
			if len(args) != 1 {
				return usageError("expected: civitas feedback apikey|revoke|clients|layer")
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			cs := feedback.Clients{DB: d, Clock: kernel.SystemClock{}}
			switch args[0] {
			case "apikey":
				if name == "" {
					return usageError("--name is required")
				}
				cl, key, err := cs.Add(ctx, name)
				if err != nil {
					return err
				}
				// The key alone on standard output, for scripts; it is shown
				// this once and kept only as a hash.
				fmt.Fprintln(stdout, key)
				fmt.Fprintf(stderr, "client %s (%s) added; keep the key: it is not shown again\n", cl.ID, cl.Name)
				return nil
			case "revoke":
				if id == "" {
					return usageError("--client is required")
				}
				if err := cs.Revoke(ctx, id); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "client %s revoked\n", id)
				return nil
			case "clients":
				list, err := cs.List(ctx)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(stdout)
				for _, cl := range list {
					if asJSON {
						if err := enc.Encode(map[string]any{"id": cl.ID, "name": cl.Name, "created_at": cl.CreatedAt, "revoked": cl.Revoked}); err != nil {
							return err
						}
						continue
					}
					state := "active"
					if cl.Revoked {
						state = "revoked"
					}
					fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", cl.ID, cl.CreatedAt.Format("2006-01-02"), state, cl.Name)
				}
				return nil
			}
			return usageError("expected: civitas feedback apikey|revoke|clients|layer")
		},
	}
}

// importLayer imports a planning layer from a GeoJSON file (WGS 84, as
// ogr2ogr writes it): a malformed file is refused naming the line of its
// fault.
func importLayer(ctx context.Context, c config.Config, file string, d feedback.LayerDraft, stdout io.Writer) error {
	if d.Name == "" {
		return usageError("--name is required")
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	d.GeoJSON, err = io.ReadAll(io.LimitReader(f, feedback.MaxGeoJSONBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	db, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := feedback.Planning{DB: db, Clock: kernel.SystemClock{}}.Import(ctx, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "layer %s imported: %s, %d features\n", l.ID, l.Name, l.Features)
	return nil
}
