package wallet

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// PDFSealer seals a PDF with an agency's seal (PAdES B-T: its signature
// time-stamped by the province's TSA) and returns the sealed file. The
// trust services implement it (internal/app wires them).
type PDFSealer interface {
	SealPDF(ctx context.Context, agency string, pdf []byte) ([]byte, error)
}

// PDFOptions turn on the readable copy of a document: a PDF of one page,
// sealed by the issuing agency, that the holder downloads to print or send.
type PDFOptions struct {
	Sealer PDFSealer
	Font   *pdf.Font // what the page is drawn in: Vietnamese and Arabic letters
}

// PDFEnabled reports whether holders may download their documents as
// sealed PDFs.
func (s *Service) PDFEnabled() bool {
	return s.o.PDF != nil && s.o.PDF.Sealer != nil && s.o.PDF.Font != nil
}

func renderingAAD(id, lang string) []byte { return []byte("wallet.rendering:" + id + ":" + lang) }

// PDF returns one of h's documents as a PDF sealed by its issuing agency,
// with labels in Vietnamese and lang (en or ar; anything else is
// Vietnamese only). The first request renders and seals it and keeps it
// sealed at rest, so every later download of that language is the same
// file. Another holder's document is NotFound, as one that does not
// exist; a revoked or suspended one is refused (Conflict), even if it was
// rendered before. Each download is audited, without the claims.
func (s *Service) PDF(ctx context.Context, h Holder, id, lang string) ([]byte, error) {
	if !s.PDFEnabled() {
		return nil, kernel.E(kernel.NotFound, "walletpdf.error.off")
	}
	if lang != "en" && lang != "ar" {
		lang = "vi"
	}
	d, err := s.Document(ctx, h, id)
	if err != nil {
		return nil, err
	}
	switch d.Status {
	case StatusRevoked:
		return nil, kernel.E(kernel.Conflict, "walletpdf.error.revoked")
	case StatusSuspended:
		return nil, kernel.E(kernel.Conflict, "walletpdf.error.suspended")
	}
	stored, err := s.storedPDF(ctx, d.ID, lang)
	if err != nil {
		return nil, err
	}
	if stored != nil {
		err := s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
			return audit.Queue(ctx, tx, auditDocument("wallet.pdf.download", d.Document, map[string]any{"lang": lang}))
		})
		if err != nil {
			return nil, err
		}
		return stored, nil
	}

	// Rendered and sealed outside the transaction: the seal asks the TSA.
	plain, err := s.renderDocument(ctx, d, lang)
	if err != nil {
		return nil, err
	}
	sealed, err := s.o.PDF.Sealer.SealPDF(ctx, d.Agency, plain)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		// Two first downloads at once both seal; the first stored wins and
		// both get it, so the file of a language never changes.
		if _, err := tx.Exec(ctx, `INSERT INTO wallet_renderings (document_id, lang, sealed, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (document_id, lang) DO NOTHING`,
			d.ID, lang, base64.StdEncoding.EncodeToString(s.o.Box.Seal(sealed, renderingAAD(d.ID, lang))), kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "wallet: store PDF")
		}
		var kept string
		if err := tx.QueryRow(ctx, `SELECT sealed FROM wallet_renderings WHERE document_id = ? AND lang = ?`, d.ID, lang).Scan(&kept); err != nil {
			return kernel.Wrap(err, "wallet: store PDF")
		}
		if out, err = s.openPDF(d.ID, lang, kept); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, auditDocument("wallet.pdf.download", d.Document, map[string]any{"lang": lang, "sealed_now": true}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// storedPDF is the document's sealed PDF in lang if it was made before, or nil.
func (s *Service) storedPDF(ctx context.Context, id, lang string) ([]byte, error) {
	var stored string
	err := s.o.DB.QueryRow(ctx, `SELECT sealed FROM wallet_renderings WHERE document_id = ? AND lang = ?`, id, lang).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: stored PDF")
	}
	return s.openPDF(id, lang, stored)
}

func (s *Service) openPDF(id, lang, stored string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: open PDF")
	}
	b, err := s.o.Box.Open(raw, renderingAAD(id, lang))
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: open PDF")
	}
	return b, nil
}

// renderDocument gathers what the page shows (the agency's and the
// holder's names from the registries, the words in both languages) and
// renders it.
func (s *Service) renderDocument(ctx context.Context, d Detailed, lang string) ([]byte, error) {
	t, err := s.o.Catalogue.Type(d.Type)
	if err != nil {
		return nil, err
	}
	agency := d.Agency
	if a, err := s.o.Registries.Agency(ctx, d.Agency); err == nil {
		agency = a.Name
	}
	holder := d.Holder.ID
	switch d.Holder.Kind {
	case HolderPerson:
		if p, err := s.o.Registries.Person(ctx, d.Holder.ID); err == nil {
			holder = p.FullName + " (" + d.Holder.ID + ")"
		}
	case HolderOrganisation:
		if b, err := s.o.Registries.Business(ctx, d.Holder.ID); err == nil {
			holder = b.Name + " (" + d.Holder.ID + ")"
		}
	}
	// Only the two languages shown are read: a rendering is made once per
	// document and language, the catalogue of every language is not needed.
	words := map[string]*i18n.Catalog{}
	for _, l := range []string{"vi", lang} {
		if words[l] == nil {
			if words[l], err = i18n.LoadLanguage(l); err != nil {
				return nil, kernel.Wrap(err, "wallet: render")
			}
		}
	}
	return RenderPDF(s.o.PDF.Font, Rendering{Type: t, Document: d.Document, Claims: d.Claims, AgencyName: agency, Holder: holder,
		Lang: lang, VerifyURL: s.o.Issuer + "/verify",
		T: func(l, key string, args ...any) string { return words[l].T(l, key, args...) }})
}
