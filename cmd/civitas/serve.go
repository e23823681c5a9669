package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/db"
)

func serveCommand() command {
	return command{
		name:  "serve",
		usage: "civitas serve [--addr HOST:PORT] [--data DIR] [--db DSN] [--public-url URL] (--demo [--demo-province CODE] | --sms http|smpp ...) [--metrics-addr HOST:PORT] [--metrics-token-file FILE]",
		bind:  func(fs *flag.FlagSet, c *config.Config) { c.BindServe(fs) },
		run: func(ctx context.Context, c config.Config, _ []string, _, stderr io.Writer) error {
			// A one-time code must reach a phone: outside a demo, a driver
			// that sends nothing would leave people locked out (and the log
			// driver once wrote codes to the log).
			if err := c.RealSMS(); err != nil {
				return usageError(err.Error())
			}
			log := c.Logger(os.Stderr)
			app.TuneRuntime()
			if _, err := app.SetMemoryLimit(c.MemoryLimit); err != nil {
				return usageError("--memory-limit: " + err.Error())
			}
			a, err := app.New(ctx, c, log)
			if err != nil {
				return err
			}
			defer a.Close()
			app.ReleaseMemory()
			go app.TrimWhenIdle(ctx, time.Second)
			ln, err := net.Listen("tcp", c.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", c.Addr, err)
			}
			var metrics net.Listener
			if c.MetricsAddr != "" {
				if metrics, err = net.Listen("tcp", c.MetricsAddr); err != nil {
					ln.Close()
					return fmt.Errorf("listen on %s: %w", c.MetricsAddr, err)
				}
			}
			return a.Serve(ctx, ln, metrics)
		},
	}
}

func migrateCommand() command {
	return command{
		name:  "migrate",
		usage: "civitas migrate [--data DIR] [--db DSN]",
		bind:  func(fs *flag.FlagSet, c *config.Config) { c.BindStorage(fs) },
		run: func(ctx context.Context, c config.Config, _ []string, stdout, _ io.Writer) error {
			d, err := db.Open(ctx, db.Options{DSN: c.DB, DataDir: c.DataDir})
			if err != nil {
				return err
			}
			defer d.Close()
			applied, err := d.Migrate(ctx)
			for _, v := range applied {
				fmt.Fprintln(stdout, "applied", v)
			}
			if err == nil && len(applied) == 0 {
				fmt.Fprintln(stdout, "database is up to date")
			}
			return err
		},
	}
}
