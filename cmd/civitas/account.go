package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// stdin is where --password-stdin reads; tests replace it.
var stdin io.Reader = os.Stdin

func accountCommand() command {
	var citizenID, phone string
	var level int
	var passwordStdin bool
	return command{
		name:  "account",
		usage: "civitas account add --data DIR --citizen-id ID --level 1|2 --password-stdin [--phone NUMBER]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&citizenID, "citizen-id", "", "citizen ID `number` (12 digits) of a person in the population registry")
			fs.IntVar(&level, "level", 1, "e-ID `level`: 1 or 2 (2 only after the person was verified in person)")
			fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
			fs.StringVar(&phone, "phone", "", "phone `number` for codes (default: the registry's)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 || args[0] != "add" {
				return usageError("expected: civitas account add")
			}
			if citizenID == "" {
				return usageError("--citizen-id is required")
			}
			if level != 1 && level != 2 {
				return usageError("--level must be 1 or 2")
			}
			if !passwordStdin {
				return usageError("--password-stdin is required: a password on the command line would be visible to other users")
			}
			pw, err := readSecretLine(stdin)
			if err != nil {
				return err
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			log := slog.New(slog.DiscardHandler)
			box, err := app.OpenBox(c, log)
			if err != nil {
				return err
			}
			svc, err := identity.New(identity.Options{DB: d, Clock: kernel.SystemClock{}, Registry: registry.New(d, kernel.SystemClock{}),
				Box: box, SMS: app.CommandSMS(log), Logger: log})
			if err != nil {
				return err
			}
			a, err := svc.AddAccount(ctx, identity.NewAccount{CitizenID: citizenID, Level: level, Password: pw, Phone: phone})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "account %s added for %s at level %d\n", a.ID, a.CitizenID, a.Level)
			return nil
		},
	}
}

// readSecretLine reads one line (without its line ending) from r.
func readSecretLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(r, 2048).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError("standard input holds no password")
	}
	return line, nil
}
