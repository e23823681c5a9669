package main

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"civitas/internal/cms"
	"civitas/internal/config"
	"civitas/internal/pades"
	"civitas/internal/pki"
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
	// The seal first: an unknown agency fails before a large file is read.
	signer, chain, err := s.Seal(ctx, d.agency)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(h, src); err != nil {
		return fmt.Errorf("read --in: %w", err)
	}
	der, err := cms.Sign(h.Sum(nil), signer, cms.SignOptions{Certificate: chain[0], Chain: chain[1:], Hash: crypto.SHA256, SigningTime: time.Now()})
	if err != nil {
		return err
	}
	if d.level == pades.LevelBT {
		if der, err = addSignatureTimestamp(ctx, s, der); err != nil {
			return err
		}
	}
	if err := writeDetached(d.out, der); err != nil {
		return fmt.Errorf("write --out: %w", err)
	}
	fmt.Fprintf(stdout, "sealed %s as %s (detached CAdES) at %s by %s (certificate %s)\n", d.in, d.out, d.level, chain[0].Subject.CommonName,
		strings.ToLower(chain[0].SerialNumber.Text(16)))
	return nil
}

// addSignatureTimestamp adds a signature time-stamp (an RFC 3161 token over
// the signature value, ETSI EN 319 122-1 §5.3) from this province's TSA as
// an unsigned attribute of der.
func addSignatureTimestamp(ctx context.Context, s *pki.Service, der []byte) ([]byte, error) {
	if err := s.StartOnline(ctx); err != nil {
		return nil, err
	}
	stamper := s.Stamper()
	if stamper == nil {
		return nil, fmt.Errorf("no time-stamping authority: run civitas ca init")
	}
	sv, err := cms.SignatureValue(der)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sv)
	token, err := stamper.Stamp(ctx, sum[:])
	if err != nil {
		return nil, fmt.Errorf("time-stamp: %w", err)
	}
	return cms.AddTimestamp(der, token)
}

// writeDetached writes the signature beside name and renames it into
// place, so that a failure never leaves a half-written file under the name
// asked.
func writeDetached(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".civitas-seal-*"+detachedExt)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := tmp.Write(b); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes files private; a signature is for handing out
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
