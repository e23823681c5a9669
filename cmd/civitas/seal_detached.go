package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/pades"
)

// detachedExt is the name ending of --out that asks seal for a detached
// CAdES signature instead of a sealed PDF.
const detachedExt = ".p7s"

// wantsDetached tells whether --out names a .p7s.
func wantsDetached(out string) bool {
	return strings.EqualFold(filepath.Ext(out), detachedExt)
}

// detachedSeal is a `civitas seal` asked for a .p7s.
type detachedSeal struct {
	agency, in, out, reason string
	level                   pades.Level
	visible                 bool // --visible or --seal-image: refused, a .p7s has no page
}

// sealDetached writes a detached CAdES signature (ETSI EN 319 122, DER)
// by the agency's seal over any file: what `civitas seal --out X.p7s`
// makes. The file is hashed as it is read, never held, so it may be of
// any size. B-T adds a signature time-stamp from this province's TSA;
// B-LT and B-LTA need a place for validation data and a document
// time-stamp, which only a PDF has.
func sealDetached(ctx context.Context, c config.Config, d detachedSeal, stdout io.Writer) error {
	switch {
	case d.level != pades.LevelBB && d.level != pades.LevelBT:
		return usageError("--level: a .p7s is made at B-B or B-T only; B-LT and B-LTA keep validation data and a document time-stamp inside a PDF")
	case d.visible:
		return usageError("--visible, --seal-image: a .p7s has no page to draw the seal on")
	case d.reason != "":
		return usageError("--reason: a .p7s has no place for a reason; it is written into sealed PDFs only")
	}
	src, err := os.Open(d.in)
	if err != nil {
		return fmt.Errorf("open --in: %w", err)
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return fmt.Errorf("open --in: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("--in %s is not a regular file", d.in)
	}

	s, done, err := openPKI(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer done()
	if !s.Ready() {
		return fmt.Errorf("no CA hierarchy yet: run civitas ca init")
	}
	der, cert, err := app.SealDetached(ctx, s, src, app.Seal{Agency: d.agency, Level: d.level, Time: time.Now()})
	if err != nil {
		return err
	}
	// A signature is for handing out.
	if err := writeFileAtomic(d.out, der, 0o644); err != nil {
		return fmt.Errorf("write --out: %w", err)
	}
	fmt.Fprintf(stdout, "sealed %s as %s (detached CAdES) at %s by %s (certificate %s)\n", d.in, d.out, d.level, cert.Subject.CommonName,
		strings.ToLower(cert.SerialNumber.Text(16)))
	return nil
}
