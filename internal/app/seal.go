package app

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
)

// Seal is an agency's seal over a document, as `civitas seal` asks it.
type Seal struct {
	Agency string      // the agency whose seal signs (issued on first use)
	Level  pades.Level // B-B, B-T, B-LT or B-LTA for a PDF; B-B or B-T detached
	Reason string      // written into a sealed PDF
	Time   time.Time   // the claimed signing time
	// Appearance draws the seal on the first page of a PDF (font and
	// image); its lines are filled here (sealLines). Nil for invisible.
	Appearance *pdf.Appearance
}

// SealPDF seals the size bytes of the PDF r into w with the agency's seal
// at s.Level, with time-stamps from and revocation evidence of this
// province's trust services. It returns the sealed file's size and the
// seal's certificate.
func SealPDF(ctx context.Context, ca *pki.Service, w io.WriterAt, r io.ReaderAt, size int64, s Seal) (int64, *x509.Certificate, error) {
	signer, chain, err := ca.Seal(ctx, s.Agency)
	if err != nil {
		return 0, nil, err
	}
	if err := ca.StartOnline(ctx); err != nil {
		return 0, nil, err
	}
	tsaChain, err := ca.TSAChain()
	if err != nil {
		return 0, nil, err
	}
	o := pades.Options{Level: s.Level, Certificate: chain[0], Chain: chain[1:], Stamper: ca.Stamper(), TSAChain: tsaChain, Revocation: ca,
		PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, Reason: s.Reason, SignTime: s.Time}}
	if s.Appearance != nil {
		look := *s.Appearance
		look.Lines = sealLines(chain[0].Subject.CommonName, s.Time, s.Reason)
		o.PDF.Appearance = &look
	}
	n, err := pades.Sign(ctx, w, r, size, signer, o)
	if err != nil {
		return 0, nil, err
	}
	return n, chain[0], nil
}

// SealDetached seals any content with a detached CAdES signature (ETSI EN
// 319 122, DER) by the agency's seal, at B-B or B-T (a signature
// time-stamp from this province's TSA). The content is hashed as it is
// read, never held. B-LT and B-LTA keep validation data and a document
// time-stamp, which only a PDF has room for.
func SealDetached(ctx context.Context, ca *pki.Service, content io.Reader, s Seal) ([]byte, *x509.Certificate, error) {
	if s.Level != pades.LevelBB && s.Level != pades.LevelBT {
		return nil, nil, errors.New("app: a detached seal is made at B-B or B-T only")
	}
	// The seal first: an unknown agency fails before a large file is read.
	signer, chain, err := ca.Seal(ctx, s.Agency)
	if err != nil {
		return nil, nil, err
	}
	var tsa cms.Stamper
	if s.Level == pades.LevelBT {
		if err := ca.StartOnline(ctx); err != nil {
			return nil, nil, err
		}
		st := ca.Stamper()
		if st == nil {
			return nil, nil, errors.New("no time-stamping authority: run civitas ca init")
		}
		tsa = st
	}
	der, err := cms.SignDetached(ctx, content, signer, cms.SignOptions{Certificate: chain[0], Chain: chain[1:], SigningTime: s.Time}, tsa)
	if err != nil {
		return nil, nil, err
	}
	return der, chain[0], nil
}

// sealLines are the text of a visible seal: the agency (the certificate's
// name), the signing time in ISO 8601 (the same instant as the signature's
// /M), and the reason when there is one; labels in Vietnamese and English.
func sealLines(agency string, at time.Time, reason string) []string {
	lines := []string{agency, "Ngày ký / Signed: " + at.Format(time.RFC3339)}
	if reason != "" {
		lines = append(lines, "Lý do / Reason: "+reason)
	}
	return lines
}
