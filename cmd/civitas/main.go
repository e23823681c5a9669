// Command civitas runs the civitas digital-citizen platform and its operator tools.
//
//	civitas serve    run the whole platform
//	civitas migrate  apply database migrations
//	civitas demo     load the demo province
//	civitas audit verify|witness
//	civitas registry list units|persons|households|land|schools|...
//	civitas registry at LAT LON
//
// Every flag can also be given as CIVITAS_<NAME>, and secrets as CIVITAS_<NAME>_FILE.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

const usage = `civitas — the digital-citizen platform

Usage:
  civitas serve    [--addr HOST:PORT] [--data DIR] [--db DSN] [--public-url URL] (--demo [--demo-province CODE] | --sms http|smpp ...) [--peer-addr HOST:PORT]
  civitas migrate  [--data DIR] [--db DSN]
  civitas demo     [--data DIR] [--db DSN] --persons N [--seed S] [--province 099|098|097]
  civitas audit verify [--data DIR] [--db DSN] [--witness FILE|URL]
  civitas audit witness --from URL --out FILE   (keep copies of a province's signed audit checkpoints)
  civitas registry list REGISTRY [--data DIR] [--db DSN] [--limit N] [--json]   (units, persons, households, land, ...; see --help)
  civitas registry at LAT LON [--json]   (the commune at a place)
  civitas client add --client-id ID ... [--agency CODE --scope wallet.issue ...]   (OpenID clients; see --help)
  civitas ca init|export, cert issue|revoke   (trust services; see --help)
  civitas seal     --data DIR --agency CODE --in IN.pdf --out OUT.pdf [--level B-B|B-T|B-LT|B-LTA]
  civitas verify   FILE [--json] [--trust ROOTS.pem] [--data DIR]
  civitas trust    add --name NAME ROOTS.pem | list | remove FINGERPRINT  [--data DIR]
  civitas feedback apikey --name APP | revoke --client ID | clients [--json]  [--data DIR]   (Open311 client apps)
  civitas feedback layer --name NAME --kind zoning|project FILE.geojson  [--data DIR]         (planning layers)
  civitas wallet   issue --agency CODE --citizen-id ID --type TYPE [--claims FILE.json] --out FILE | types [--json]  [--data DIR]
  civitas exchange services|grant|revoke|grants|log|verify|purposes  (the data exchange; see --help)
  civitas peer     add --name NAME --url URL --ca ROOT.pem | list | remove --name NAME  [--data DIR]
  civitas stats rebuild  [--data DIR]                                                      (recount the adoption figures; non-zero when they differed)
  civitas learning import --course DIR | import-gift --course CODE --file QUESTIONS.gift [--bank NAME] | courses [--json]  [--data DIR]
  civitas backup   --recipient AGE_PUBLIC_KEY (--out FILE | --out-dir DIR [--keep N] [--every D])  [--data DIR] [--db DSN]
  civitas backup verify --in FILE --identity AGE_KEY_FILE   (a restore drill in a scratch directory)
  civitas restore  --in FILE --identity AGE_KEY_FILE --data NEWDIR [--db EMPTY_DSN]
  civitas keys     list | rotate --what oidc|seal:AGENCY|statuslist:AGENCY|ocsp|tsa|audit | rewrap --new-key-file FILE   (audited)
  civitas retention run [--dry-run] [--rules FILE] | rules   (delete personal data past its period; audited)
  civitas breach   record --what ... | list | notified ID   (personal-data breaches and their notification)
  civitas payments reconcile --statement FILE.csv [--date YYYY-MM-DD] [--agency CODE] [--json]  [--data DIR]
  civitas procedures list [--data DIR] [--json] | check FILE.json   (the portal's catalogue; check refuses paper the state holds)
  civitas version

Run "civitas COMMAND --help" for the flags of a command. Every flag --name can
also be set as CIVITAS_NAME (dashes as underscores), a secret as CIVITAS_NAME_FILE.
`

// exit codes
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: it binds its flags, then runs with them.
type command struct {
	name  string
	usage string
	bind  func(fs *flag.FlagSet, c *config.Config)
	// run gets the positional arguments (flags may come before, between or after them).
	run func(ctx context.Context, c config.Config, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":      serveCommand(),
		"migrate":    migrateCommand(),
		"demo":       demoCommand(),
		"audit":      auditCommand(),
		"registry":   registryCommand(),
		"account":    accountCommand(),
		"client":     clientCommand(),
		"ca":         caCommand(),
		"cert":       certCommand(),
		"seal":       sealCommand(),
		"verify":     verifyCommand(),
		"trust":      trustCommand(),
		"wallet":     walletCommand(),
		"exchange":   exchangeCommand(),
		"peer":       peerCommand(),
		"feedback":   feedbackCommand(),
		"learning":   learningCommand(),
		"payments":   paymentsCommand(),
		"procedures": proceduresCommand(),
		"stats":      statsCommand(),
		"edoc":       edocCommand(),

		// Operating civitas: backup.go, keys.go, privacy.go.
		"backup":    backupCommand(),
		"restore":   restoreCommand(),
		"keys":      keysCommand(),
		"retention": retentionCommand(),
		"breach":    breachCommand(),
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "civitas", app.Version)
		return exitOK
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "civitas: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	cfg := config.Default()
	fs := flag.NewFlagSet("civitas "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags (each also as CIVITAS_<NAME>):\n", cmd.usage)
		fs.PrintDefaults()
	}
	cmd.bind(fs, &cfg)
	positional, err := parseInterleaved(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if err := config.ApplyOSEnv(fs); err != nil {
		fmt.Fprintf(stderr, "civitas %s: %v\n", cmd.name, err)
		return exitUsage
	}
	if cmd.name != "serve" {
		cfg.Addr = "" // only serve listens
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "civitas %s: %s\n", cmd.name, message(err))
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorOperator, ID: "cli:" + cmd.name})
	if err := cmd.run(ctx, cfg, positional, stdout, stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "civitas %s: %s\n", cmd.name, ue)
			fs.Usage()
			return exitUsage
		}
		fmt.Fprintf(stderr, "civitas %s: %s\n", cmd.name, message(err))
		return exitFailure
	}
	return exitOK
}

// usageError is a mistake in the command line past the flags.
type usageError string

func (e usageError) Error() string { return string(e) }

// message says what went wrong in words an operator can act on: the
// catalogue text for coded errors, the cause for internal ones (the operator
// runs the machine, so the detail is theirs to see), and plain errors as they are.
func message(err error) string {
	var ke *kernel.Error
	if !errors.As(err, &ke) {
		return err.Error()
	}
	if ke.Code == kernel.Internal {
		if ke.Err != nil {
			return "internal error: " + ke.Err.Error()
		}
		return "internal error"
	}
	// kernel.Wrap around a coded cause keeps its code and key: the detail
	// worth showing is the innermost such error's own cause.
	for inner := ke; errors.As(ke.Err, &inner) && inner.Code == ke.Code && inner.Key == ke.Key; {
		ke = inner
	}
	key, args := kernel.ErrorKey(err)
	text := key
	if cat, cerr := i18n.LoadLanguage("en"); cerr == nil {
		text = cat.T("en", key, args...)
	}
	if ke.Err != nil {
		return text + ": " + ke.Err.Error()
	}
	return text
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments, as operators write them ("registry list units --limit 3").
// A "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
