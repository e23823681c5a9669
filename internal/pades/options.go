package pades

import (
	"context"
	"crypto/x509"
	"io"

	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// Level is a PAdES baseline level.
type Level string

// The baseline levels, each adding to the one before.
const (
	LevelBB   Level = "B-B"   // a CAdES signature in the PDF
	LevelBT   Level = "B-T"   // and a time-stamp on it: proof it existed then
	LevelBLT  Level = "B-LT"  // and the certificates and revocation data in the DSS
	LevelBLTA Level = "B-LTA" // and a document time-stamp over all that
)

// rank orders the levels; unknown levels are 0.
func (l Level) rank() int {
	switch l {
	case LevelBB:
		return 1
	case LevelBT:
		return 2
	case LevelBLT:
		return 3
	case LevelBLTA:
		return 4
	}
	return 0
}

// Stamper gets an RFC 3161 time-stamp token over a SHA-256 digest.
// pki.LocalStamper and a client of a remote TSA implement it.
type Stamper interface {
	Stamp(ctx context.Context, sha256Digest []byte) (token []byte, err error)
}

// Revocation gives the evidence that the certificates of a chain (the
// subject first, then its issuers) were not revoked: DER OCSP responses and
// CRLs, as current as the source has.
type Revocation interface {
	Evidence(ctx context.Context, chain []*x509.Certificate) (ocsps, crls [][]byte, err error)
}

// Options say who signs, at which level, and where the time-stamps and the
// revocation evidence come from.
type Options struct {
	Level       Level
	Certificate *x509.Certificate   // the signer's
	Chain       []*x509.Certificate // its CAs, the root too (for the DSS)
	Stamper     Stamper             // required from B-T
	TSAChain    []*x509.Certificate // the TSA's certificate and its CAs, for the DSS
	Revocation  Revocation          // required from B-LT
	// PDF is the signature dictionary; its SubFilter is always
	// ETSI.CAdES.detached, and /M defaults to now.
	PDF pdf.SignOptions
}

// readWriterAt is a file that can be read back: what the levels that add
// updates after the signature need, since they must read the signed file.
type readWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

func (o *Options) check(w io.WriterAt) error {
	if o.Level.rank() == 0 {
		return kernel.E(kernel.Invalid, "pades.error.bad_level")
	}
	if o.Certificate == nil {
		return kernel.E(kernel.Invalid, "pades.error.no_certificate")
	}
	if o.Level.rank() >= LevelBT.rank() && o.Stamper == nil {
		return kernel.E(kernel.Invalid, "pades.error.no_stamper")
	}
	if o.Level.rank() >= LevelBLT.rank() {
		if o.Revocation == nil {
			return kernel.E(kernel.Invalid, "pades.error.no_revocation")
		}
		if _, ok := w.(io.ReaderAt); !ok && w != nil {
			return kernel.E(kernel.Invalid, "pades.error.output_not_readable")
		}
	}
	return nil
}
