package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"civitas/internal/app"
	"civitas/internal/config"
)

// statsCommand keeps the adoption figures honest: rebuild counts every
// indicator again from the capabilities' own data, corrects the figures
// kept as things happened, and fails when they had differed.
func statsCommand() command {
	return command{
		name:  "stats",
		usage: "civitas stats rebuild  [--data DIR] [--db DSN]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, stderr io.Writer) error {
			if len(args) != 1 || args[0] != "rebuild" {
				return usageError("expected: civitas stats rebuild")
			}
			c.Demo = false // a rebuild counts what is there
			if c.PublicURL == "" {
				c.PublicURL = "http://localhost" // nothing is served; the services want an address
			}
			a, err := app.New(ctx, c, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer a.Close()
			diffs, err := a.Stats().Rebuild(ctx, true)
			if err != nil {
				return err
			}
			for _, d := range diffs {
				fmt.Fprintln(stdout, d)
			}
			if len(diffs) > 0 {
				return fmt.Errorf("%d figures differed from a recount; corrected", len(diffs))
			}
			fmt.Fprintln(stdout, "every figure matches a recount")
			return nil
		},
	}
}
