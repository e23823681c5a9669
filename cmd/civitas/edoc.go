package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/edoc"
	"civitas/internal/kernel"
)

func edocCommand() command {
	var from, subject, typ, file, id, out, unit, urgency, due string
	var to, attach stringList
	var asJSON bool
	return command{
		name: "edoc",
		usage: "civitas edoc send --data DIR --from AGENCY --to AGENCY[@PEER] [--to ...] --subject TEXT --type CODE --file MAIN.pdf [--attach FILE ...] | " +
			"status --data DIR --id ENVELOPE [--json] | export --data DIR --id ENVELOPE --out FILE.xml | deliver --data DIR",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&from, "from", "", "send: the sending agency's `code`")
			fs.Var(&to, "to", "send: a recipient, AGENCY here or AGENCY@PEER in a peer province (repeatable)")
			fs.StringVar(&subject, "subject", "", "send: the subject (trích yếu), `text`")
			fs.StringVar(&typ, "type", "", "send: the type by its Decree 30 abbreviation: QĐ, TB, BC, KH, TTr, ... or CV for an official letter")
			fs.StringVar(&file, "file", "", "send: the main `PDF`, already signed")
			fs.Var(&attach, "attach", "send: an attachment `file` (repeatable)")
			fs.StringVar(&unit, "unit", "VP", "send: the drafting unit in an official letter's symbol (123/UBND-VP)")
			fs.StringVar(&urgency, "urgency", "normal", "send: normal, urgent, express or flash")
			fs.StringVar(&due, "due", "", "send: the answer's due date, YYYY-MM-DD")
			fs.StringVar(&id, "id", "", "status, export: the envelope `ID`")
			fs.StringVar(&out, "out", "", "export: the `file` to write the envelope to")
			fs.BoolVar(&asJSON, "json", false, "status: a JSON array")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 {
				return usageError("expected: civitas edoc send|status|export|deliver")
			}
			switch args[0] {
			case "send":
				if from == "" || len(to) == 0 || subject == "" || typ == "" || file == "" {
					return usageError("--from, --to, --subject, --type and --file are required")
				}
			case "status":
				if id == "" {
					return usageError("--id is required")
				}
			case "export":
				if id == "" || out == "" {
					return usageError("--id and --out are required")
				}
			case "deliver":
			default:
				return usageError("expected: civitas edoc send|status|export|deliver")
			}
			s, done, err := app.OpenEdocCommand(ctx, c, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer done()
			ctx = kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorOperator, ID: "cli"})
			switch args[0] {
			case "send":
				im, err := edocImport(from, subject, typ, file, unit, urgency, due, to, attach)
				if err != nil {
					return err
				}
				_, ids, err := s.Import(ctx, im)
				if err != nil {
					return err
				}
				// Recipients here are delivered now; the server's outbox
				// retries what could not be, and carries what goes to peers.
				if _, err := s.DeliverDue(ctx, "cli:"+kernel.NewID(), len(ids)); err != nil {
					return err
				}
				for _, id := range ids {
					fmt.Fprintln(stdout, id)
				}
			case "status":
				ms, err := s.Statuses(ctx, id)
				if err != nil {
					return err
				}
				if asJSON {
					type msg struct {
						Code   string `json:"code"`
						At     string `json:"at"`
						Agency string `json:"agency"`
					}
					list := make([]msg, len(ms))
					for i, m := range ms {
						list[i] = msg{Code: m.Code, At: m.At.Format(time.RFC3339Nano), Agency: m.Agency}
					}
					b, _ := json.Marshal(list)
					fmt.Fprintf(stdout, "%s\n", b)
					return nil
				}
				for _, m := range ms {
					fmt.Fprintf(stdout, "%s %s %s\n", m.Code, m.At.In(kernel.Zone()).Format(time.RFC3339), m.Agency)
				}
			case "export":
				b, err := s.Export(ctx, id)
				if err != nil {
					return err
				}
				if err := writeAtomic(out, 0o600, func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				fmt.Fprintf(stdout, "envelope %s written to %s\n", id, out)
			case "deliver":
				n, err := s.DeliverDue(ctx, "cli:"+kernel.NewID(), 1000)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%d delivered\n", n)
			}
			return nil
		},
	}
}

// edocImport reads the files and the flags of an edoc send.
func edocImport(from, subject, typ, file, unit, urgency, due string, to, attach []string) (edoc.Import, error) {
	t, err := edoc.ParseDocType(typ)
	if err != nil {
		return edoc.Import{}, err
	}
	im := edoc.Import{From: from, Type: t, Subject: subject, DraftingUnit: unit, Urgency: edoc.Urgency(urgency)}
	for _, r := range to {
		rc, err := edoc.ParseRecipient(r)
		if err != nil {
			return edoc.Import{}, err
		}
		im.To = append(im.To, rc)
	}
	if due != "" {
		if im.Due, err = time.ParseInLocation(time.DateOnly, due, kernel.Zone()); err != nil {
			return edoc.Import{}, usageError("--due: YYYY-MM-DD")
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return edoc.Import{}, fmt.Errorf("--file: %w", err)
	}
	im.Main = edoc.File{Name: filepath.Base(file), MediaType: "application/pdf", Data: b}
	for _, a := range attach {
		b, err := os.ReadFile(a)
		if err != nil {
			return edoc.Import{}, fmt.Errorf("--attach: %w", err)
		}
		im.Attachments = append(im.Attachments, edoc.File{Name: filepath.Base(a), Data: b})
	}
	return im, nil
}
