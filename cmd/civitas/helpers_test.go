package main

import (
	"flag"
	"io"
	"os"

	"civitas/internal/config"
)

func newTestFlagSet(cmd command) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := config.Default()
	cmd.bind(fs, &c)
	return fs
}

func dbtestDSN() string { return os.Getenv("CIVITAS_DB") }
