package app

import (
	"bytes"
	"context"
	"io"

	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/wallet"
)

// walletPDFSealer seals the wallet's readable PDFs with the issuing
// agency's seal from the trust services, at PAdES B-T: the signature
// time-stamped by the province's TSA, as `civitas seal` does at the
// agency's request.
type walletPDFSealer struct {
	ca    *pki.Service
	clock kernel.Clock
}

var _ wallet.PDFSealer = walletPDFSealer{}

// SealPDF seals in with agency's seal (issued on first use).
func (s walletPDFSealer) SealPDF(ctx context.Context, agency string, in []byte) ([]byte, error) {
	signer, chain, err := s.ca.Seal(ctx, agency)
	if err != nil {
		return nil, err
	}
	if err := s.ca.StartOnline(ctx); err != nil {
		return nil, err
	}
	tsaChain, err := s.ca.TSAChain()
	if err != nil {
		return nil, err
	}
	o := pades.Options{Level: pades.LevelBT, Certificate: chain[0], Chain: chain[1:], Stamper: s.ca.Stamper(), TSAChain: tsaChain,
		PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, Reason: "Bản sao giấy tờ trong Ví giấy tờ / Copy of a wallet document",
			SignTime: s.clock.Now()}}
	out := &sealedPDFBuffer{b: make([]byte, 0, len(in)+48<<10)}
	n, err := pades.Sign(ctx, out, bytes.NewReader(in), int64(len(in)), signer, o)
	if err != nil {
		return nil, err
	}
	return out.b[:n], nil
}

// walletPDF turns on the wallet's sealed PDFs when there is a font for
// them (systemFont); without one holders are offered none.
func walletPDF(ca *pki.Service, clock kernel.Clock, font *pdf.Font) *wallet.PDFOptions {
	if font == nil {
		return nil
	}
	return &wallet.PDFOptions{Sealer: walletPDFSealer{ca: ca, clock: clock}, Font: font}
}

// sealedPDFBuffer is a file in memory that pades.Sign writes at offsets: a
// one-page rendering is a few tens of kilobytes.
type sealedPDFBuffer struct{ b []byte }

var _ io.WriterAt = (*sealedPDFBuffer)(nil)

func (m *sealedPDFBuffer) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		if end <= int64(cap(m.b)) {
			m.b = m.b[:end]
		} else {
			m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
		}
	}
	copy(m.b[off:], p)
	return len(p), nil
}
