package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"civitas/internal/config"
	"civitas/internal/portal"
	"civitas/internal/wallet"
)

// proceduresCommand is the fixed contract of the portal's catalogue:
// civitas procedures list --data DIR --json   one procedure a line: code, name, fee, sla_days, integrated, inputs
// civitas procedures check FILE.json          exit 0 when valid; else exit 1 and one line per problem
// check needs no data directory: a definition is checked against the
// shipped catalogue and the wallet's built-in document types.
func proceduresCommand() command {
	var asJSON bool
	var lang string
	return command{
		name:  "procedures",
		usage: "civitas procedures list [--data DIR] [--json] [--lang vi|en|ar] | civitas procedures check FILE.json",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.BoolVar(&asJSON, "json", false, "list: one JSON object per line")
			fs.StringVar(&lang, "lang", "vi", "list: the `language` of the names (vi, en, ar)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			switch {
			case len(args) == 1 && args[0] == "list":
				return listProcedures(c, asJSON, lang, stdout)
			case len(args) == 2 && args[0] == "check":
				return checkProcedures(args[1], stdout)
			}
			return usageError("expected: civitas procedures list | civitas procedures check FILE.json")
		},
	}
}

func listProcedures(c config.Config, asJSON bool, lang string, stdout io.Writer) error {
	types, err := wallet.LoadCatalogue(filepath.Join(c.DataDir, "wallet", "types"))
	if err != nil {
		return err
	}
	var codes []string
	for _, t := range types.Types() {
		codes = append(codes, t.Code)
	}
	cat, err := portal.LoadCatalogue(filepath.Join(c.DataDir, "portal", "procedures"), portal.CatalogueOptions{WalletTypes: codes})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, p := range cat.Procedures() {
		if asJSON {
			b, err := json.Marshal(portal.ListJSON(p, lang))
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", b)
			continue
		}
		kind := ""
		if p.Integrated {
			kind = " [integrated]"
		}
		fmt.Fprintf(w, "%-34s %9d VND %3d days  %s%s\n", p.Code, p.Fee, p.SLADays, p.NameIn(lang), kind)
	}
	return nil
}

// checkProcedures checks a file of one definition, a JSON array of them,
// or JSON lines (what list --json prints), printing each problem on a line.
func checkProcedures(file string, stdout io.Writer) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	types, err := wallet.LoadCatalogue("")
	if err != nil {
		return err
	}
	var codes []string
	for _, t := range types.Types() {
		codes = append(codes, t.Code)
	}
	var defs [][]byte
	trimmed := bytes.TrimSpace(b)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			fmt.Fprintf(stdout, "%s: not JSON: %v\n", file, err)
			return fmt.Errorf("%s is not a valid procedure definition", file)
		}
		for _, r := range arr {
			defs = append(defs, r)
		}
	case json.Valid(trimmed):
		defs = [][]byte{trimmed}
	default:
		for line := range strings.SplitSeq(string(b), "\n") {
			if strings.TrimSpace(line) != "" {
				defs = append(defs, []byte(line))
			}
		}
	}
	if len(defs) == 0 {
		fmt.Fprintf(stdout, "%s: no procedure definition\n", file)
		return fmt.Errorf("%s holds no procedure definition", file)
	}
	problems := 0
	for i, d := range defs {
		p, err := portal.ParseProcedure(d)
		if err != nil {
			fmt.Fprintf(stdout, "%s: definition %d: %v\n", file, i+1, err)
			problems++
			continue
		}
		for _, pr := range portal.Check(p, codes) {
			fmt.Fprintln(stdout, pr.String())
			problems++
		}
	}
	if problems > 0 {
		return fmt.Errorf("%d problems in %s", problems, file)
	}
	return nil
}
