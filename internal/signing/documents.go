package signing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
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
	// Font draws visible signatures (the holder's name, capacity and the
	// time on the first page); nil offers invisible signatures only.
	Font *pdf.Font
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

// CanDrawSignatures reports whether uploads may ask for a visible
// signature (a font is configured).
func (s *Service) CanDrawSignatures() bool {
	p, err := s.pdf()
	return err == nil && p.Font != nil
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

// preparedPDF is a PDF made ready for its holder's signature: the file with
// room for the signature, its PAdES session (what Complete needs), and the
// original's SHA-256 (to recognise the same file sent again).
type preparedPDF struct {
	name     string
	original string
	session  *pades.Session
	json     string
	file     []byte
}

// prepare reads the n bytes of in once, writing the prepared copy in
// memory (never to a temporary file: see memFile), and keeps it.
func (s *Service) prepare(ctx context.Context, p *PDF, chain []*x509.Certificate, level pades.Level, name string, in io.ReaderAt, n int64, look *pdf.Appearance) (preparedPDF, error) {
	out := &memFile{b: make([]byte, 0, n+64<<10), max: room(p, n)}
	o := pades.Options{Level: level, Certificate: chain[0], Chain: chain[1:], Stamper: p.Stamper, TSAChain: p.TSAChain, Revocation: p.Revocation,
		PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, SignTime: s.o.Clock.Now(), Appearance: look}}
	sess, err := pades.Begin(ctx, out, in, n, o)
	if err != nil {
		return preparedPDF{}, err
	}
	file := out.bytes(sess.Prepared.Size)
	sessJSON, err := json.Marshal(sess)
	if err != nil {
		return preparedPDF{}, kernel.Wrap(err, "signing: prepare")
	}
	return preparedPDF{name: name, session: sess, json: string(sessJSON), file: file}, nil
}

// room is the most a PDF of n bytes may grow to while it is prepared and
// finished: its signature, time-stamps and revocation evidence.
func room(p *PDF, n int64) int64 { return 2*max(n, p.MaxFile) + 16<<20 }

// visibleLines are what a visible signature shows: who signed (the
// certificate's name), in which capacity for an official, and when, in
// ISO 8601 at the province's offset (UTC+7); labels in Vietnamese and
// English.
func visibleLines(c Credential, cert *x509.Certificate, at time.Time) []string {
	lines := []string{"Ký bởi / Signed by: " + cert.Subject.CommonName}
	if c.Capacity.Official() {
		lines = append(lines, c.Capacity.Title+", "+c.Capacity.AgencyName)
	}
	return append(lines, "Ngày ký / Date: "+at.In(vietnam).Format(time.RFC3339))
}

// vietnam is Indochina Time, UTC+7 all year (no daylight saving): fixed,
// so no time-zone database is needed.
var vietnam = time.FixedZone("ICT", 7*3600)

// keep records the prepared PDFs of request r, in its transaction.
func keep(ctx context.Context, tx *db.Tx, r Request, docs []preparedPDF) error {
	for i, d := range docs {
		if err := insertDocument(ctx, tx, r, i, d); err != nil {
			return err
		}
	}
	return nil
}

// chainOf is a credential's certificate chain, for the signatures it makes.
func (s *Service) chainOf(ctx context.Context, p *PDF, c Credential) ([]*x509.Certificate, error) {
	sn, _ := new(big.Int).SetString(c.Serial, 16)
	return p.Chain(ctx, sn)
}

// UploadPDF prepares a PDF the holder uploads for their own signature and
// makes the request they approve on their phone page, signed with the
// credential named (an official's, to sign in that capacity) or, for "",
// their own. The file is read once into memory (never a temporary file);
// the prepared copy is kept until signed and downloaded.
func (s *Service) UploadPDF(ctx context.Context, accountID, credentialID, name string, r io.Reader, visible bool) (Request, error) {
	p, err := s.pdf()
	if err != nil {
		return Request{}, err
	}
	var cred Credential
	if credentialID == "" {
		cred, err = s.personalCredential(ctx, accountID)
	} else {
		cred, err = s.credential(ctx, accountID, credentialID)
	}
	if err != nil {
		return Request{}, err
	}
	chain, err := s.chainOf(ctx, p, cred)
	if err != nil {
		return Request{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, p.MaxFile+1))
	n := int64(len(data))
	if err != nil {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.upload").WithCause(err)
	}
	if n == 0 {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.empty_file")
	}
	if n > p.MaxFile {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.file_too_large", p.MaxFile>>20)
	}
	name = cleanName(name)
	var look *pdf.Appearance
	if visible {
		if p.Font == nil {
			return Request{}, kernel.E(kernel.Unavailable, "signing.error.no_visible")
		}
		look = &pdf.Appearance{Font: p.Font, Lines: visibleLines(cred, chain[0], s.o.Clock.Now())}
	}
	doc, err := s.prepare(ctx, p, chain, p.Level, name, bytes.NewReader(data), n, look)
	if err != nil {
		return Request{}, err
	}
	return s.submit(ctx, Submission{AccountID: accountID, CredentialID: cred.ID, Client: ownClient, Description: name,
		Items: []Item{{Label: name, Hash: doc.session.ToSign()}}}, func(tx *db.Tx, r Request) error {
		return keep(ctx, tx, r, []preparedPDF{doc})
	})
}

// PDFDocument is a PDF an application sends to be signed.
type PDFDocument struct {
	Name  string      // what the holder reads; cleaned, ends in .pdf
	Level pades.Level // the PAdES level to reach; the server's default when ""
	Data  []byte
}

// PDFSubmission is an application's request to sign PDFs.
type PDFSubmission struct {
	AccountID    string
	CredentialID string // "" for the holder's own
	Client       string
	Description  string
	CallbackURL  string
	Documents    []PDFDocument
}

// maxDocuments bounds the PDFs of one request: each is prepared while the
// application waits.
const maxDocuments = 100

// ParseLevel reads a PAdES level as the CSC API names it ("Ades-B-LT",
// any case) or as civitas does ("B-LT").
func ParseLevel(s string) (pades.Level, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimPrefix(u, "ADES-")
	switch l := pades.Level(u); l {
	case pades.LevelBB, pades.LevelBT, pades.LevelBLT, pades.LevelBLTA:
		return l, true
	}
	return "", false
}

// DocumentID names one PDF of a request to the application.
func DocumentID(requestID string, idx int) string { return requestID + "-" + strconv.Itoa(idx+1) }

// SubmitPDFs prepares each PDF once for the holder's credential — the
// signature field and the byte-range digest that the key will sign — and
// records a request whose documents are those digests, labelled with the
// PDFs' names, for the holder to approve on their phone. The approval
// signs nothing by itself: the application takes its SAD on its next poll
// (HandOff) and finishes the PDFs with SignDocuments (CSC signDoc). The
// PDFs together may be MaxFile bytes.
func (s *Service) SubmitPDFs(ctx context.Context, sub PDFSubmission) (Request, error) {
	p, err := s.pdf()
	if err != nil {
		return Request{}, err
	}
	if len(sub.Documents) == 0 || len(sub.Documents) > min(maxDocuments, s.o.MaxItems) {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.item_count", min(maxDocuments, s.o.MaxItems))
	}
	var total int64
	for _, d := range sub.Documents {
		if len(d.Data) == 0 {
			return Request{}, kernel.E(kernel.Invalid, "signing.error.empty_file")
		}
		if d.Level != "" {
			if _, ok := ParseLevel(string(d.Level)); !ok {
				return Request{}, kernel.E(kernel.Invalid, "signing.error.level")
			}
		}
		total += int64(len(d.Data))
	}
	if total > p.MaxFile {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.file_too_large", p.MaxFile>>20)
	}
	var cred Credential
	if sub.CredentialID == "" {
		cred, err = s.personalCredential(ctx, sub.AccountID)
	} else {
		cred, err = s.credential(ctx, sub.AccountID, sub.CredentialID)
	}
	if err != nil {
		return Request{}, err
	}
	if cred.Status != CredentialActive {
		return Request{}, kernel.E(kernel.Forbidden, "signing.error.credential_inactive")
	}
	if sub.CallbackURL != "" { // before the work of preparing
		if err := CheckCallbackURL(sub.CallbackURL); err != nil {
			return Request{}, err
		}
	}
	chain, err := s.chainOf(ctx, p, cred)
	if err != nil {
		return Request{}, err
	}
	docs := make([]preparedPDF, len(sub.Documents))
	items := make([]Item, len(sub.Documents))
	for i, d := range sub.Documents {
		level := p.Level
		if d.Level != "" {
			level, _ = ParseLevel(string(d.Level))
		}
		sum := sha256.Sum256(d.Data)
		name := cleanName(d.Name)
		if docs[i], err = s.prepare(ctx, p, chain, level, name, bytes.NewReader(d.Data), int64(len(d.Data)), nil); err != nil {
			return Request{}, err
		}
		docs[i].original = hex.EncodeToString(sum[:])
		items[i] = Item{Label: name, Hash: docs[i].session.ToSign()}
	}
	return s.submit(ctx, Submission{AccountID: sub.AccountID, CredentialID: cred.ID, Client: sub.Client, Description: sub.Description,
		Items: items, CallbackURL: sub.CallbackURL, handoff: HandoffPoll}, func(tx *db.Tx, r Request) error {
		return keep(ctx, tx, r, docs)
	})
}

// Document is one PDF of a request, as its application sees it.
type Document struct {
	ID     string
	Name   string
	Level  pades.Level
	Digest []byte // what the holder approves: the signed attributes' SHA-256
	Signed bool
}

// Documents lists the PDFs of a request its application submitted (none
// for a request of hashes).
// Another application's request, or another holder's, is NotFound.
func (s *Service) Documents(ctx context.Context, client, accountID, requestID string) ([]Document, error) {
	n, err := countClientRequests(ctx, s.o.DB, client, accountID, requestID)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: documents")
	}
	if n == 0 {
		return nil, errNoRequest()
	}
	docs, err := s.documents(ctx, requestID)
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, d := range docs {
		if d.accountID != accountID {
			return nil, errNoRequest()
		}
		out = append(out, Document{ID: DocumentID(requestID, d.idx), Name: d.name, Level: d.session.Level, Digest: d.session.ToSign(), Signed: d.signed})
	}
	return out, nil
}

// storedPDF is a row of signing_documents, without its files.
type storedPDF struct {
	idx       int
	accountID string
	name      string
	original  string
	session   pades.Session
	signed    bool
}

// documents reads the PDFs of a request, in order.
func (s *Service) documents(ctx context.Context, requestID string) ([]storedPDF, error) {
	out, err := findDocuments(ctx, s.o.DB, requestID)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: documents")
	}
	return out, nil
}

// HandOff gives the application that submitted a request of PDFs the SAD
// of its holder's approval: once, to the first poll after the approval,
// within SADTTL of it, and only with a token of the same holder. It
// returns "" when there is nothing to hand over (not approved yet, handed
// over already, expired, or not such a request). Only the SAD's hash is
// kept, as for every SAD.
func (s *Service) HandOff(ctx context.Context, client, accountID, requestID string) (string, time.Time, error) {
	expires, err := findHandOff(ctx, s.o.DB, client, accountID, requestID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, kernel.Wrap(err, "signing: hand off")
	}
	sad, err := newSAD(requestID)
	if err != nil {
		return "", time.Time{}, err
	}
	handed := false
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		ok, err := handOff(ctx, tx, client, accountID, requestID, sadHash(sad))
		if err != nil {
			return err
		}
		if !ok {
			return nil // another poll took it, or it expired
		}
		handed = true
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "signing.request.hand_off", SubjectType: "account", SubjectID: accountID,
			Details: map[string]any{"request": requestID, "client": client}})
		return err
	})
	if err != nil {
		return "", time.Time{}, kernel.Wrap(err, "signing: hand off")
	}
	if !handed {
		return "", time.Time{}, nil
	}
	return sad, expires, nil
}

// DocumentRef names one PDF of a request to sign: by its ID (DocumentID),
// or by its content, the same file the application sent. Level, if set,
// must be the level it was prepared for.
type DocumentRef struct {
	ID      string
	Content []byte
	Level   pades.Level
}

// DocumentSigning is an application's call to finish the PDFs of a request
// with the SAD its holder's approval gave.
type DocumentSigning struct {
	Client       string
	AccountID    string // the holder, as the application's token says
	CredentialID string
	SAD          string
	Documents    []DocumentRef
}

// SignDocuments signs the PDFs of the SAD's request — all of them, each
// once, in any order — and returns them signed at their level, in the
// order asked. The SAD is checked and used up by SignHash, so it signs
// nothing but the digests its holder approved. If finishing a PDF fails
// after the signature (the time-stamping unit down), the application gets
// it later with SignedDocument.
func (s *Service) SignDocuments(ctx context.Context, d DocumentSigning) ([][]byte, error) {
	p, err := s.pdf()
	if err != nil {
		return nil, err
	}
	requestID, _, ok := strings.Cut(d.SAD, ".")
	if !ok || len(requestID) > 40 || len(d.Documents) == 0 {
		return nil, errBadSAD()
	}
	accountID, client, err := findOwner(ctx, s.o.DB, requestID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (accountID != d.AccountID || client != d.Client) {
		return nil, errBadSAD()
	}
	if err != nil {
		return nil, kernel.Wrap(err, "signing: sign documents")
	}
	stored, err := s.documents(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if len(stored) != len(d.Documents) {
		return nil, errBadSAD()
	}
	order := make([]int, len(d.Documents))
	used := make([]bool, len(stored))
	hashes := make([][]byte, len(d.Documents))
	for i, ref := range d.Documents {
		k := -1
		switch {
		case ref.ID != "" && ref.Content == nil:
			if n, err := strconv.Atoi(strings.TrimPrefix(ref.ID, requestID+"-")); err == nil && strings.HasPrefix(ref.ID, requestID+"-") && n >= 1 && n <= len(stored) {
				k = n - 1
			}
		case ref.ID == "" && ref.Content != nil:
			sum := sha256.Sum256(ref.Content)
			for j, st := range stored {
				if !used[j] && st.original == hex.EncodeToString(sum[:]) {
					k = j
					break
				}
			}
		}
		if k < 0 || used[k] {
			return nil, errBadSAD()
		}
		if ref.Level != "" && ref.Level != stored[k].session.Level {
			return nil, kernel.E(kernel.Invalid, "signing.error.level_mismatch", string(stored[k].session.Level))
		}
		used[k], order[i], hashes[i] = true, k, stored[k].session.ToSign()
	}
	ctx = kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: accountID})
	sigs, err := s.SignHash(ctx, HashSigning{Client: d.Client, CredentialID: d.CredentialID, SAD: d.SAD, Hashes: hashes})
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(order))
	for i, k := range order {
		if out[i], err = s.finish(ctx, p, requestID, k, sigs[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// finish completes one prepared PDF with its signature at its session's
// level (time-stamp, DSS, document time-stamp) and keeps the result, or
// returns the one kept.
func (s *Service) finish(ctx context.Context, p *PDF, requestID string, idx int, signature []byte) ([]byte, error) {
	sessJSON, prepared, signed, err := findDocumentFiles(ctx, s.o.DB, requestID, idx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoRequest()
	}
	if err != nil {
		return nil, kernel.Wrap(err, "signing: document")
	}
	if len(signed) > 0 {
		return signed, nil
	}
	var sess pades.Session
	if err := json.Unmarshal([]byte(sessJSON), &sess); err != nil {
		return nil, kernel.Wrap(err, "signing: document")
	}
	f := &memFile{b: prepared, max: room(p, int64(len(prepared)))}
	size, err := pades.Complete(ctx, f, &sess, signature, pades.Options{Stamper: p.Stamper, Revocation: p.Revocation, TSAChain: p.TSAChain})
	if err != nil {
		return nil, err
	}
	signed = f.bytes(size)
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		return updateSignedDocument(ctx, tx, requestID, idx, signed)
	})
	if err != nil {
		return nil, kernel.Wrap(err, "signing: document")
	}
	return signed, nil
}

// signedDocument returns PDF idx of request q once its holder signed it,
// completing it on first call; if that fails (the TSA down) the next call
// tries again.
func (s *Service) signedDocument(ctx context.Context, q Request, idx int) (string, []byte, error) {
	p, err := s.pdf()
	if err != nil {
		return "", nil, err
	}
	name, err := findDocumentName(ctx, s.o.DB, q.ID, idx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, errNoRequest()
	}
	if err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	if q.Status != RequestDone || idx >= len(q.Items) || len(q.Items[idx].Signature) == 0 {
		return "", nil, kernel.E(kernel.Conflict, "signing.error.not_signed")
	}
	signed, err := s.finish(ctx, p, q.ID, idx, q.Items[idx].Signature)
	if err != nil {
		return "", nil, err
	}
	return name, signed, nil
}

// HasDocument reports whether a holder's request is an uploaded PDF; a
// database error is an error, not "no".
func (s *Service) HasDocument(ctx context.Context, accountID, requestID string) (bool, error) {
	n, err := countDocuments(ctx, s.o.DB, accountID, requestID)
	if err != nil {
		return false, kernel.Wrap(err, "signing: has document")
	}
	return n > 0, nil
}

// SignedPDF returns the first PDF of a holder's request once they signed
// it, completing it at the level asked on first download.
func (s *Service) SignedPDF(ctx context.Context, accountID, requestID string) (string, []byte, error) {
	if _, err := s.pdf(); err != nil {
		return "", nil, err
	}
	q, err := s.Request(ctx, accountID, requestID)
	if err != nil {
		return "", nil, err
	}
	return s.signedDocument(ctx, q, 0)
}

// SignedDocument returns one signed PDF of an application's request by
// its document ID: what signDoc returned, again, or completed now if
// signDoc could not finish it after signing.
func (s *Service) SignedDocument(ctx context.Context, client, accountID, documentID string) (string, []byte, error) {
	i := strings.LastIndexByte(documentID, '-')
	if i <= 0 {
		return "", nil, errNoRequest()
	}
	n, err := strconv.Atoi(documentID[i+1:])
	if err != nil || n < 1 {
		return "", nil, errNoRequest()
	}
	requestID := documentID[:i]
	q, err := findClientRequest(ctx, s.o.DB, client, accountID, requestID, s.o.Clock.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, errNoRequest()
	}
	if err != nil {
		return "", nil, kernel.Wrap(err, "signing: document")
	}
	if q.Items, err = s.items(ctx, q.ID); err != nil {
		return "", nil, err
	}
	return s.signedDocument(ctx, q, n-1)
}

// DocumentsKept is how long an uploaded PDF, and its signed form, stays
// here: the holder downloads it within that time (the pages say so).
const DocumentsKept = 24 * time.Hour

// OwnDocument is a PDF the holder uploaded to sign themselves.
type OwnDocument struct {
	RequestID string
	Name      string
	Uploaded  time.Time
	KeptUntil time.Time // when Cleanup forgets it
	Status    string    // the request's: pending, done, refused, expired
	expires   time.Time // the request's deadline
}

// OwnDocuments lists the holder's own uploads still kept, newest first.
func (s *Service) OwnDocuments(ctx context.Context, accountID string) ([]OwnDocument, error) {
	out, err := findOwnDocuments(ctx, s.o.DB, accountID, ownClient)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: own documents")
	}
	now := s.o.Clock.Now()
	for i := range out {
		d := &out[i]
		d.KeptUntil = d.Uploaded.Add(DocumentsKept)
		if d.Status == RequestPending && !now.Before(d.expires) {
			d.Status = RequestExpired
		}
	}
	return out, nil
}

// Cleanup forgets PDFs a day old (the holder or application has them, or
// let them go) and webhook events finished a week ago. It returns how many
// rows went.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	var n int64
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		docs, err := deleteDocumentsBefore(ctx, tx, tx.Now.Add(-DocumentsKept))
		if err != nil {
			return err
		}
		hooks, err := deleteWebhooksDoneBefore(ctx, tx, tx.Now.Add(-webhookKept))
		n = docs + hooks
		return err
	})
	return n, err
}
