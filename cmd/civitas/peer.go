package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"civitas/internal/config"
)

func peerCommand() command {
	var name, url, caFile string
	var asJSON bool
	return command{
		name:  "peer",
		usage: "civitas peer add --data DIR --name NAME --url URL --ca ROOT.pem | list [--json] | remove --name NAME",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&name, "name", "", "add, remove: the peer's `name` here (CODE@NAME names its services, NAME:CLIENT_ID its consumers)")
			fs.StringVar(&url, "url", "", "add: the peer's public `URL` (its --public-url), where its peer endpoint is discovered; http only on a loopback address")
			fs.StringVar(&caFile, "ca", "", "add: PEM `file` of the peer's root certificate (its civitas ca export root.pem)")
			fs.BoolVar(&asJSON, "json", false, "list: one JSON object a line")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 {
				return usageError("expected: civitas peer add|list|remove")
			}
			x, d, err := openExchange(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			switch args[0] {
			case "add":
				if name == "" || url == "" || caFile == "" {
					return usageError("--name, --url and --ca are required")
				}
				pemBytes, err := os.ReadFile(caFile)
				if err != nil {
					return fmt.Errorf("--ca: %w", err)
				}
				p, err := x.AddPeer(ctx, name, url, pemBytes)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "peer %s added: %s, root %s\n", p.Name, p.URL, p.Fingerprint)
				if p.Endpoint != "" {
					fmt.Fprintf(stdout, "peer endpoint %s\n", p.Endpoint)
				} else {
					fmt.Fprintln(stdout, "its peer endpoint was not found now; it is looked for at the first query")
				}
			case "list":
				ps, err := x.Peers(ctx)
				if err != nil {
					return err
				}
				for _, p := range ps {
					if asJSON {
						b, _ := json.Marshal(map[string]any{"name": p.Name, "url": p.URL, "endpoint": p.Endpoint, "root_sha256": p.Fingerprint,
							"root_subject": p.Root.Subject.String(), "added_at": p.AddedAt.Format(time.RFC3339)})
						fmt.Fprintf(stdout, "%s\n", b)
						continue
					}
					fmt.Fprintf(stdout, "%-16s %-32s %-32s %s\n", p.Name, p.URL, p.Endpoint, p.Fingerprint)
				}
			case "remove":
				if name == "" {
					return usageError("--name is required")
				}
				if err := x.RemovePeer(ctx, name); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "peer %s removed\n", name)
			default:
				return usageError("expected: civitas peer add|list|remove")
			}
			return nil
		},
	}
}
