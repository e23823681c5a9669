package signing

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
)

// PDF is what the service needs to sign PDFs holders upload themselves:
// the certificate chains, a time-stamping unit and revocation evidence for
// the long-term level.
type PDF struct {
	Chain      func(ctx context.Context, serial *big.Int) ([]*x509.Certificate, error)
	Stamper    pades.Stamper
	Revocation pades.Revocation
	TSAChain   []*x509.Certificate
	Level      pades.Level // default B-LT: verifiable for years without asking anyone
	MaxFile    int64       // default 20 MiB
}

// ownClient names civitas itself as the application asking, for the
// holder's own uploads.
const ownClient = "civitas"

func (s *Service) pdf() (*PDF, error) {
	if s.o.PDF == nil {
		return nil, kernel.E(kernel.Unavailable, "signing.error.no_pdf")
	}
	p := *s.o.PDF
	if p.Level == "" {
		p.Level = pades.LevelBLT
	}
	if p.MaxFile <= 0 {
		p.MaxFile = 20 << 20
	}
	return &p, nil
}

// MaxFile is the largest PDF a holder may upload.
func (s *Service) MaxFile() int64 {
	if p, err := s.pdf(); err == nil {
		return p.MaxFile
	}
	return 0
}

// cleanName makes an uploaded file's name safe to show and to offer back:
// its base name, printable, at most 120 characters, ending in .pdf.
func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '/' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 120 {
		name = string([]rune(name)[:120])
	}
	if name == "" || name == "." {
		name = "document"
	}
	if !strings.HasSuffix(strings.ToLower(name), ".pdf") {
		name += ".pdf"
	}
	return name
}

// UploadPDF prepares a PDF the holder uploads for their own signature and
// makes the request they approve on their phone page. The file is read
// once into a temporary file; the prepared copy is kept until signed and
// downloaded.
func (s *Service) UploadPDF(ctx context.Context, accountID, name string, r io.Reader) (Request, error) {
	p, err := s.pdf()
	if err != nil {
		return Request{}, err
	}
	cred, err := s.activeCredentialOf(ctx, accountID)
	if err != nil {
		return Request{}, err
	}
	sn, _ := new(big.Int).SetString(cred.Serial, 16)
	chain, err := p.Chain(ctx, sn)
	if err != nil {
		return Request{}, err
	}
	in, err := os.CreateTemp("", "civitas-upload-*.pdf")
	if err != nil {
		return Request{}, kernel.Wrap(err, "signing: upload")
	}
	defer os.Remove(in.Name())
	defer in.Close()
	n, err := io.Copy(in, io.LimitReader(r, p.MaxFile+1))
	if err != nil {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.upload").WithCause(err)
	}
	if n == 0 {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.empty_file")
	}
	if n > p.MaxFile {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.file_too_large", p.MaxFile>>20)
	}
	out, err := os.CreateTemp("", "civitas-prepared-*.pdf")
	if err != nil {
		return Request{}, kernel.Wrap(err, "signing: upload")
	}
	defer os.Remove(out.Name())
	defer out.Close()
	name = cleanName(name)
	o := pades.Options{Level: p.Level, Certificate: chain[0], Chain: chain[1:], Stamper: p.Stamper, TSAChain: p.TSAChain, Revocation: p.Revocation,
		PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, SignTime: s.o.Clock.Now()}}
	sess, err := pades.Begin(ctx, out, in, n, o)
	if err != nil {
		return Request{}, err
	}
	prepared := make([]byte, sess.Prepared.Size)
	if _, err := out.ReadAt(prepared, 0); err != nil {
		return Request{}, kernel.Wrap(err, "signing: upload")
	}
	sessJSON, err := json.Marshal(sess)
	if err != nil {
		return Request{}, kernel.Wrap(err, "signing: upload")
	}
	q, err := s.Submit(ctx, Submission{AccountID: accountID, CredentialID: cred.ID, Client: ownClient, Description: name,
		Items: []Item{{Label: name, Hash: sess.ToSign()}}})
	if err != nil {
		return Request{}, err
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO signing_documents (request_id, account_id, name, session, prepared, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			q.ID, accountID, name, string(sessJSON), prepared, kernel.Micros(tx.Now))
		return err
	})
	if err != nil {
		return Request{}, kernel.Wrap(err, "signing: upload")
	}
	return q, nil
}

func (s *Service) activeCredentialOf(ctx context.Context, accountID string) (Credential, error) {
	creds, err := s.Credentials(ctx, accountID)
	if err != nil {
		return Credential{}, err
	}
	for _, c := range creds {
		if c.Status == CredentialActive {
			return c, nil
		}
	}
	return Credential{}, kernel.E(kernel.Forbidden, "signing.error.credential_inactive")
}

// HasDocument reports whether a holder's request is an uploaded PDF.
func (s *Service) HasDocument(ctx context.Context, accountID, requestID string) bool {
	var n int
	err := s.o.DB.QueryRow(ctx, `SELECT COUNT(*) FROM signing_documents WHERE request_id = ? AND account_id = ?`, requestID, accountID).Scan(&n)
	return err == nil && n == 1
}

// SignedPDF returns an uploaded PDF once its holder signed it, completing
// it at the level asked on first download (time-stamp, revocation
// evidence); if that fails (the TSA down) the next download tries again.
func (s *Service) SignedPDF(ctx context.Context, accountID, requestID string) (string, []byte, error) {
	p, err := s.pdf()
	if err != nil {
		return "", nil, err
	}
	var name, sessJSON string
	var prepared, signed []byte
	err = s.o.DB.QueryRow(ctx, `SELECT name, session, prepared, signed FROM signing_documents WHERE request_id = ? AND account_id = ?`,
		requestID, accountID).Scan(&name, &sessJSON, &prepared, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, errNoRequest()
	}
	if err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	if len(signed) > 0 {
		return name, signed, nil
	}
	q, err := s.Request(ctx, accountID, requestID)
	if err != nil {
		return "", nil, err
	}
	if q.Status != RequestDone || len(q.Items) != 1 || len(q.Items[0].Signature) == 0 {
		return "", nil, kernel.E(kernel.Conflict, "signing.error.not_signed")
	}
	var sess pades.Session
	if err := json.Unmarshal([]byte(sessJSON), &sess); err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	f, err := os.CreateTemp("", "civitas-signed-*.pdf")
	if err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.WriteAt(prepared, 0); err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	size, err := pades.Complete(ctx, f, &sess, q.Items[0].Signature, pades.Options{Stamper: p.Stamper, Revocation: p.Revocation, TSAChain: p.TSAChain})
	if err != nil {
		return "", nil, err
	}
	signed = make([]byte, size)
	if _, err := f.ReadAt(signed, 0); err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE signing_documents SET signed = ?, signed_at = ? WHERE request_id = ?`, signed, kernel.Micros(tx.Now), requestID)
		return err
	})
	if err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	return name, signed, nil
}

// Cleanup forgets uploaded PDFs a day old: the holder has downloaded them
// or let them go. It returns how many.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	var n int64
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM signing_documents WHERE created_at < ?`, kernel.Micros(tx.Now.Add(-24*time.Hour)))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
