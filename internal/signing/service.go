package signing

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/sealed"
	"civitas/internal/tally"
)

// Keys is what signing needs of the CA: certify a new key for a level-2
// holder, and hand out the key of a valid certificate once the holder
// approved.
type Keys interface {
	Issue(ctx context.Context, citizenID string) (*x509.Certificate, error)
	Signer(ctx context.Context, serial *big.Int) (crypto.Signer, *x509.Certificate, error)
}

// Confirmer checks the holder's second factor for an act, throttling
// guesses, and records the act in the holder's usage history.
type Confirmer interface {
	ConfirmWithTOTP(ctx context.Context, accountID, code, kind string, details map[string]string) error
}

// Options configure the service.
type Options struct {
	DB      *db.DB
	Clock   kernel.Clock
	Keys    Keys
	Confirm Confirmer
	// RequestTTL is how long a request waits for its holder; default 10 minutes.
	RequestTTL time.Duration
	// SADTTL is how long an approval stays usable; default 5 minutes.
	SADTTL time.Duration
	// MaxItems bounds the hashes of one request; default 1000.
	MaxItems int
	// PDF lets holders upload PDFs to sign themselves, and applications
	// send PDFs to sign (signDoc); nil turns that off.
	PDF *PDF
	// Officials lets officials enrol a credential in their capacity; nil
	// turns that off.
	Officials Officials
	// Box seals the applications' webhook secrets; nil turns webhooks off
	// (a request with a callback_url is then refused).
	Box *sealed.Box
	// Logger logs webhook deliveries and internal errors of the CSC API.
	Logger *slog.Logger
}

// Service is remote signing.
type Service struct {
	o     Options
	hooks *http.Client  // delivers webhooks
	nudge chan struct{} // wakes the webhook worker when an event is written
}

// New checks o and makes the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil || o.Keys == nil || o.Confirm == nil {
		return nil, errors.New("signing: DB, Clock, Keys and Confirm are required")
	}
	if o.RequestTTL <= 0 {
		o.RequestTTL = 10 * time.Minute
	}
	if o.SADTTL <= 0 {
		o.SADTTL = 5 * time.Minute
	}
	if o.MaxItems <= 0 {
		o.MaxItems = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, hooks: webhookClient(), nudge: make(chan struct{}, 1)}, nil
}

// Credential states: issued (certificate made, waiting for its holder to
// activate it), active, disabled (its certificate revoked or the holder's
// choice).
const (
	CredentialIssued   = "issued"
	CredentialActive   = "active"
	CredentialDisabled = "disabled"
)

// Request states.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestRefused  = "refused"
	RequestExpired  = "expired"
	RequestDone     = "done"
)

// Credential is a holder's signing key and certificate.
type Credential struct {
	ID          string
	AccountID   string
	Serial      string // of the certificate, hex
	Status      string
	CreatedAt   time.Time
	ActivatedAt time.Time
	Signatures  int64
	// Capacity is the post an official's credential signs in; zero for a
	// citizen's own.
	Capacity Capacity
}

// Item is one document to sign: a label the holder reads and its hash,
// and once signed its signature.
type Item struct {
	Label     string
	Hash      []byte
	Signature []byte
}

// Request is an application's request to sign on a holder's behalf.
type Request struct {
	ID           string
	CredentialID string
	AccountID    string
	Client       string // the application, as its holder sees it named
	Description  string
	Status       string
	Items        []Item // filled by Request, not by Pending
	Count        int
	CreatedAt    time.Time
	ExpiresAt    time.Time
	CallbackURL  string // where the application is told of the decision; "" for none
	// Handoff is HandoffPoll when the approval's SAD goes to the
	// application (it polls for it, then calls signDoc); "" when the
	// approval signs at once.
	Handoff string
}

// HandoffPoll marks a request whose approval hands its SAD to the
// application on its next poll rather than signing at once.
const HandoffPoll = "poll"

func errNoCredential() error { return kernel.E(kernel.NotFound, "signing.error.no_credential") }
func errNoRequest() error    { return kernel.E(kernel.NotFound, "signing.error.no_request") }

// errBadSAD is the one answer to every SignHash that may not sign: unknown,
// expired, used, for another credential or application, or for other
// hashes. A caller learns nothing about which.
func errBadSAD() error { return kernel.E(kernel.Forbidden, "signing.error.bad_sad") }

// Enrol certifies a new signing key for a level-2 holder (the CA refuses
// lower levels) and records the credential, to be activated by its holder.
// unitCode is the holder's commune, for the adoption figures.
func (s *Service) Enrol(ctx context.Context, accountID, citizenID, unitCode string) (Credential, error) {
	cert, err := s.o.Keys.Issue(ctx, citizenID)
	if err != nil {
		return Credential{}, err
	}
	return s.record(ctx, accountID, unitCode, cert, Capacity{})
}

// Activate lets the holder take their credential into use, confirming with
// their second factor: the credential is theirs and under their control.
func (s *Service) Activate(ctx context.Context, accountID, credentialID, code string) error {
	c, err := s.credential(ctx, accountID, credentialID)
	if err != nil {
		return err
	}
	if c.Status != CredentialIssued {
		return kernel.E(kernel.Conflict, "signing.error.already_active")
	}
	if err := s.o.Confirm.ConfirmWithTOTP(ctx, accountID, code, "signing.activate", map[string]string{"credential": credentialID}); err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE signing_credentials SET status = ?, activated_at = ? WHERE id = ? AND account_id = ? AND status = ?`,
			CredentialActive, kernel.Micros(tx.Now), credentialID, accountID, CredentialIssued)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.Conflict, "signing.error.already_active")
		}
		if err := tallyActivate(ctx, tx, accountID, credentialID); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "signing.credential.activate", SubjectType: "account", SubjectID: accountID,
			Details: map[string]any{"credential": credentialID}})
		return err
	})
}

// Credentials lists a holder's credentials, newest first.
func (s *Service) Credentials(ctx context.Context, accountID string) ([]Credential, error) {
	rows, err := s.o.DB.Query(ctx, `SELECT `+credentialColumns+`
		FROM signing_credentials WHERE account_id = ? ORDER BY created_at DESC, id`, accountID)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: credentials")
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

const credentialColumns = `id, account_id, cert_serial, status, created_at, activated_at, signatures, agency_code, agency_name, title`

func scanCredential(r scanner) (Credential, error) {
	var c Credential
	var created, activated int64
	if err := r.Scan(&c.ID, &c.AccountID, &c.Serial, &c.Status, &created, &activated, &c.Signatures,
		&c.Capacity.AgencyCode, &c.Capacity.AgencyName, &c.Capacity.Title); err != nil {
		return c, err
	}
	c.CreatedAt = time.UnixMicro(created).UTC()
	if activated != 0 {
		c.ActivatedAt = time.UnixMicro(activated).UTC()
	}
	return c, nil
}

// credential returns a holder's credential; another holder's is NotFound.
func (s *Service) credential(ctx context.Context, accountID, id string) (Credential, error) {
	c, err := scanCredential(s.o.DB.QueryRow(ctx, `SELECT `+credentialColumns+`
		FROM signing_credentials WHERE id = ? AND account_id = ?`, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return Credential{}, errNoCredential()
	}
	if err != nil {
		return Credential{}, kernel.Wrap(err, "signing: credential")
	}
	return c, nil
}

// Submission is what an application asks a holder to sign.
type Submission struct {
	AccountID    string // the holder, as the application authenticated them
	CredentialID string
	Client       string
	Description  string
	Items        []Item
	// CallbackURL, if not "", is where the application is told when the
	// holder approves or refuses, or the request expires (see webhooks.go).
	CallbackURL string

	handoff string // HandoffPoll for PDFs the application finishes with signDoc
}

func validHash(h []byte) bool { return len(h) == 32 || len(h) == 48 || len(h) == 64 }

func validText(s string, max int) bool {
	return s != "" && len(s) <= max && utf8.ValidString(s) && strings.TrimSpace(s) == s
}

// Submit records a request to sign, waiting for the holder. The credential
// must be the holder's and active.
func (s *Service) Submit(ctx context.Context, sub Submission) (Request, error) {
	return s.submit(ctx, sub, nil)
}

// submit is Submit, running also with in the same transaction (the
// prepared PDFs of SubmitPDFs are recorded with their request, or neither).
func (s *Service) submit(ctx context.Context, sub Submission, with func(*db.Tx, Request) error) (Request, error) {
	if !validText(sub.Client, 200) || !validText(sub.Description, 500) {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.bad_request")
	}
	if sub.CallbackURL != "" {
		if err := CheckCallbackURL(sub.CallbackURL); err != nil {
			return Request{}, err
		}
		if s.o.Box == nil {
			return Request{}, kernel.E(kernel.Unavailable, "signing.error.no_webhooks")
		}
	}
	if len(sub.Items) == 0 || len(sub.Items) > s.o.MaxItems {
		return Request{}, kernel.E(kernel.Invalid, "signing.error.item_count", s.o.MaxItems)
	}
	seen := make(map[string]bool, len(sub.Items))
	for _, it := range sub.Items {
		if !validText(it.Label, 300) || !validHash(it.Hash) || seen[string(it.Hash)] {
			return Request{}, kernel.E(kernel.Invalid, "signing.error.bad_item")
		}
		seen[string(it.Hash)] = true
	}
	c, err := s.credential(ctx, sub.AccountID, sub.CredentialID)
	if err != nil {
		return Request{}, err
	}
	if c.Status != CredentialActive {
		return Request{}, kernel.E(kernel.Forbidden, "signing.error.credential_inactive")
	}
	// Time-ordered: requests are written, approved and signed while new,
	// so their rows stay on a few hot pages.
	r := Request{ID: kernel.NewOrderedID(s.o.Clock.Now()), CredentialID: c.ID, AccountID: c.AccountID, Client: sub.Client, Description: sub.Description,
		Status: RequestPending, Items: sub.Items, Count: len(sub.Items), CallbackURL: sub.CallbackURL, Handoff: sub.handoff}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		r.CreatedAt, r.ExpiresAt = tx.Now, tx.Now.Add(s.o.RequestTTL)
		if _, err := tx.Exec(ctx, `INSERT INTO signing_requests (id, credential_id, account_id, client, description, status, items, created_at, expires_at, callback_url, handoff)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.CredentialID, r.AccountID, r.Client, r.Description, r.Status, r.Count,
			kernel.Micros(r.CreatedAt), kernel.Micros(r.ExpiresAt), r.CallbackURL, r.Handoff); err != nil {
			return err
		}
		if r.CallbackURL != "" {
			// The application can fetch its secret before the first event.
			if _, err := s.webhookSecrets(ctx, tx, r.Client); err != nil {
				return err
			}
		}
		for i, it := range sub.Items {
			if _, err := tx.Exec(ctx, `INSERT INTO signing_items (request_id, idx, label, hash) VALUES (?, ?, ?, ?)`,
				r.ID, i, it.Label, base64.StdEncoding.EncodeToString(it.Hash)); err != nil {
				return err
			}
		}
		if with != nil {
			return with(tx, r)
		}
		return nil
	})
	if err != nil {
		var ke *kernel.Error
		if errors.As(err, &ke) {
			return Request{}, err
		}
		return Request{}, kernel.Wrap(err, "signing: submit")
	}
	return r, nil
}

const requestColumns = `id, credential_id, account_id, client, description, status, items, created_at, expires_at, callback_url, handoff`

func scanRequest(r scanner, now time.Time) (Request, error) {
	var q Request
	var created, expires int64
	if err := r.Scan(&q.ID, &q.CredentialID, &q.AccountID, &q.Client, &q.Description, &q.Status, &q.Count, &created, &expires,
		&q.CallbackURL, &q.Handoff); err != nil {
		return q, err
	}
	q.CreatedAt, q.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if q.Status == RequestPending && !now.Before(q.ExpiresAt) {
		q.Status = RequestExpired
	}
	return q, nil
}

// Pending lists the requests waiting for a holder, oldest first.
func (s *Service) Pending(ctx context.Context, accountID string) ([]Request, error) {
	now := s.o.Clock.Now()
	rows, err := s.o.DB.Query(ctx, `SELECT `+requestColumns+` FROM signing_requests
		WHERE account_id = ? AND status = ? AND expires_at > ? ORDER BY created_at, id LIMIT 200`, accountID, RequestPending, kernel.Micros(now))
	if err != nil {
		return nil, kernel.Wrap(err, "signing: pending")
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		q, err := scanRequest(rows, now)
		if err != nil {
			return nil, kernel.Wrap(err, "signing: pending")
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// Request returns one of a holder's requests with its documents; another
// holder's is NotFound.
func (s *Service) Request(ctx context.Context, accountID, id string) (Request, error) {
	now := s.o.Clock.Now()
	q, err := scanRequest(s.o.DB.QueryRow(ctx, `SELECT `+requestColumns+` FROM signing_requests WHERE id = ? AND account_id = ?`, id, accountID), now)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, errNoRequest()
	}
	if err != nil {
		return Request{}, kernel.Wrap(err, "signing: request")
	}
	items, err := s.items(ctx, s.o.DB.Query, id)
	if err != nil {
		return Request{}, err
	}
	q.Items = items
	return q, nil
}

type querier func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

func (s *Service) items(ctx context.Context, query querier, requestID string) ([]Item, error) {
	rows, err := query(ctx, `SELECT label, hash, signature FROM signing_items WHERE request_id = ? ORDER BY idx`, requestID)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: items")
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var label, h, sig string
		if err := rows.Scan(&label, &h, &sig); err != nil {
			return nil, kernel.Wrap(err, "signing: items")
		}
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			return nil, kernel.Wrap(err, "signing: items")
		}
		it := Item{Label: label, Hash: raw}
		if sig != "" {
			if it.Signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
				return nil, kernel.Wrap(err, "signing: items")
			}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Approve is the holder's consent, confirmed with their second factor. It
// returns the SAD for the application: the only thing that makes the key
// sign these documents, once, within SADTTL.
func (s *Service) Approve(ctx context.Context, accountID, requestID, code string) (string, error) {
	q, err := s.Request(ctx, accountID, requestID)
	if err != nil {
		return "", err
	}
	return s.approve(ctx, q, code, true)
}

// approve records the holder's consent to q. With mint, it makes the SAD
// and returns it; without, the approval waits for its application to take
// the SAD on its next poll (HandOff), within the same SADTTL.
func (s *Service) approve(ctx context.Context, q Request, code string, mint bool) (string, error) {
	accountID := q.AccountID
	if q.Status != RequestPending {
		return "", kernel.E(kernel.Conflict, "signing.error.not_pending")
	}
	if err := s.o.Confirm.ConfirmWithTOTP(ctx, accountID, code, "signing.approve",
		map[string]string{"request": q.ID, "client": q.Client, "documents": strconv.Itoa(q.Count)}); err != nil {
		return "", err
	}
	var sad string
	var stored sql.NullString // NULL: the SAD is made when the application takes it
	if mint {
		var err error
		if sad, err = newSAD(q.ID); err != nil {
			return "", err
		}
		stored = sql.NullString{String: sadHash(sad), Valid: true}
	}
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE signing_requests SET status = ?, decided_at = ?, sad_hash = ?, sad_expires_at = ?
			WHERE id = ? AND account_id = ? AND status = ? AND expires_at > ?`, RequestApproved, kernel.Micros(tx.Now), stored,
			kernel.Micros(tx.Now.Add(s.o.SADTTL)), q.ID, accountID, RequestPending, kernel.Micros(tx.Now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.Conflict, "signing.error.not_pending")
		}
		if _, err := audit.Append(ctx, tx, audit.Entry{Action: "signing.request.approve", SubjectType: "account", SubjectID: accountID,
			Details: map[string]any{"request": q.ID, "client": q.Client, "documents": q.Count}}); err != nil {
			return err
		}
		return s.enqueueEvent(ctx, tx, q.ID, q.Client, q.CallbackURL, RequestApproved)
	})
	if err != nil {
		return "", err
	}
	s.wake(q.CallbackURL)
	return sad, nil
}

// newSAD makes a SAD for a request. The request's ID travels in it, so
// using it is a lookup by primary key (recent, hot pages) rather than
// through an index of random hashes; the secret part is what proves the
// approval.
func newSAD(requestID string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", kernel.Wrap(err, "signing: SAD")
	}
	return requestID + "." + base64.RawURLEncoding.EncodeToString(raw), nil
}

// Refuse is the holder saying no; the application learns it by polling,
// or from its webhook.
func (s *Service) Refuse(ctx context.Context, accountID, requestID string) error {
	var callback string
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE signing_requests SET status = ?, decided_at = ? WHERE id = ? AND account_id = ? AND status = ?`,
			RequestRefused, kernel.Micros(tx.Now), requestID, accountID, RequestPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			var status string
			err := tx.QueryRow(ctx, `SELECT status FROM signing_requests WHERE id = ? AND account_id = ?`, requestID, accountID).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
				return errNoRequest()
			}
			return kernel.E(kernel.Conflict, "signing.error.not_pending")
		}
		if _, err := audit.Append(ctx, tx, audit.Entry{Action: "signing.request.refuse", SubjectType: "account", SubjectID: accountID,
			Details: map[string]any{"request": requestID}}); err != nil {
			return err
		}
		var client string
		if err := tx.QueryRow(ctx, `SELECT client, callback_url FROM signing_requests WHERE id = ?`, requestID).Scan(&client, &callback); err != nil {
			return err
		}
		return s.enqueueEvent(ctx, tx, requestID, client, callback, RequestRefused)
	})
	if err == nil {
		s.wake(callback)
	}
	return err
}

func sadHash(sad string) string {
	sum := sha256.Sum256([]byte(sad))
	return hex.EncodeToString(sum[:])
}

// HashSigning is an application's call to sign with an approval.
type HashSigning struct {
	Client       string
	CredentialID string
	SAD          string
	Hashes       [][]byte
	Hash         crypto.Hash // of the hashes; SHA256 by default
}

// SignHash signs exactly the hashes the holder approved, with the SAD the
// approval gave, and uses the SAD up. Every signature is audited. The
// signatures come in the order of the hashes; ECDSA signatures are ASN.1
// DER, RSA ones PKCS #1 v1.5.
func (s *Service) SignHash(ctx context.Context, h HashSigning) ([][]byte, error) {
	if h.SAD == "" || len(h.SAD) > 200 || len(h.Hashes) == 0 || len(h.Hashes) > s.o.MaxItems {
		return nil, errBadSAD()
	}
	if h.Hash == 0 {
		// Told by the length: what a signer is asked to sign must match
		// its hash (a PKCS#11 token checks).
		h.Hash = map[int]crypto.Hash{32: crypto.SHA256, 48: crypto.SHA384, 64: crypto.SHA512}[len(h.Hashes[0])]
	}
	for _, d := range h.Hashes {
		if h.Hash == 0 || len(d) != h.Hash.Size() {
			return nil, errBadSAD()
		}
	}
	// Everything that decides is read and checked first, and the key signs
	// before the write transaction, so the single writer is held only for
	// the writes (and a transaction never waits on a pool connection it
	// holds itself). The signatures stay here unless the transaction then
	// uses the SAD up: two calls racing with one SAD may both sign, but only
	// one gets its signatures out; the other's are dropped.
	sh := sadHash(h.SAD)
	reqID, _, ok := strings.Cut(h.SAD, ".")
	if !ok || len(reqID) > 40 {
		return nil, errBadSAD()
	}
	// One read: the request, its credential and its hashes (one row each).
	rows, err := s.o.DB.Query(ctx, `SELECT r.id, r.credential_id, r.client, r.account_id, r.status, r.sad_hash, r.sad_expires_at,
		c.cert_serial, c.status, i.idx, i.hash
		FROM signing_requests r JOIN signing_credentials c ON c.id = r.credential_id JOIN signing_items i ON i.request_id = r.id
		WHERE r.id = ? ORDER BY i.idx`, reqID)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: sign")
	}
	var id, credID, client, accountID, status, serial, credStatus string
	var stored sql.NullString
	var sadExpires int64
	index := make(map[string]int, len(h.Hashes)) // approved hash -> its item
	for rows.Next() {
		var idx int
		var hash string
		if err := rows.Scan(&id, &credID, &client, &accountID, &status, &stored, &sadExpires, &serial, &credStatus, &idx, &hash); err != nil {
			rows.Close()
			return nil, kernel.Wrap(err, "signing: sign")
		}
		raw, err := base64.StdEncoding.DecodeString(hash)
		if err != nil {
			rows.Close()
			return nil, kernel.Wrap(err, "signing: sign")
		}
		index[string(raw)] = idx
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "signing: sign")
	}
	if id == "" {
		return nil, errBadSAD()
	}
	if !stored.Valid || subtle.ConstantTimeCompare([]byte(stored.String), []byte(sh)) != 1 {
		return nil, errBadSAD()
	}
	if credID != h.CredentialID || client != h.Client || status != RequestApproved || !s.o.Clock.Now().Before(time.UnixMicro(sadExpires)) {
		return nil, errBadSAD()
	}
	if credStatus != CredentialActive {
		return nil, kernel.E(kernel.Forbidden, "signing.error.credential_inactive")
	}
	// Exactly the approved hashes, each once, in any order (approved
	// hashes are distinct: Submit refuses duplicates).
	if len(index) != len(h.Hashes) {
		return nil, errBadSAD()
	}
	seen := make(map[string]bool, len(h.Hashes))
	for _, d := range h.Hashes {
		if _, ok := index[string(d)]; !ok || seen[string(d)] {
			return nil, errBadSAD()
		}
		seen[string(d)] = true
	}
	sn, _ := new(big.Int).SetString(serial, 16)
	signer, _, err := s.o.Keys.Signer(ctx, sn)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(h.Hashes))
	for i, digest := range h.Hashes {
		if out[i], err = signer.Sign(rand.Reader, digest, h.Hash); err != nil {
			return nil, kernel.Wrap(err, "signing: sign")
		}
	}
	// What the transaction writes is made before it: the single writer
	// only writes.
	idxs, sigs := make([]int, len(h.Hashes)), make([]string, len(h.Hashes))
	entries := make([]audit.Entry, len(h.Hashes))
	for i, digest := range h.Hashes {
		idxs[i], sigs[i] = index[string(digest)], base64.StdEncoding.EncodeToString(out[i])
		entries[i] = audit.Entry{Action: "signing.sign", SubjectType: "credential", SubjectID: credID,
			Details: map[string]any{"request": id, "client": client, "hash": hex.EncodeToString(digest)}}
	}
	actx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: accountID})
	err = s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		// Used up here, once: the conditions are those checked above, so a
		// SAD that expired or was used meanwhile signs nothing.
		res, err := tx.Exec(ctx, `UPDATE signing_requests SET status = ?, sad_hash = NULL WHERE id = ? AND sad_hash = ? AND status = ? AND sad_expires_at > ?`,
			RequestDone, id, sh, RequestApproved, kernel.Micros(tx.Now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errBadSAD()
		}
		if err := storeSignatures(ctx, tx, id, idxs, sigs, kernel.Micros(tx.Now)); err != nil {
			return err
		}
		if err := audit.Queue(actx, tx, entries...); err != nil {
			return err
		}
		db.Defer(tx, credentialUseKey{}, credentialUse{id: credID, n: len(h.Hashes), at: kernel.Micros(tx.Now)}, countUses)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// storeRows is the most items one UPDATE writes; each count up to it is its
// own statement, prepared once.
const storeRows = 32

// storeItems[k] writes the signatures of k items of a request: one
// statement instead of k (VALUES columns are column1, column2 in both
// SQLite and PostgreSQL).
var storeItems = func() (qs [storeRows + 1]string) {
	for k := 1; k <= storeRows; k++ {
		qs[k] = `UPDATE signing_items SET signature = v.column2, signed_at = ? FROM (VALUES ` +
			strings.Repeat("(CAST(? AS INTEGER), ?), ", k-1) + `(CAST(? AS INTEGER), ?)) AS v
			WHERE signing_items.request_id = ? AND signing_items.idx = v.column1`
	}
	return qs
}()

// storeSignatures writes sigs[i] as the signature of item idxs[i] of the
// request.
func storeSignatures(ctx context.Context, tx *db.Tx, requestID string, idxs []int, sigs []string, at int64) error {
	if len(idxs) == 1 {
		_, err := tx.Exec(ctx, `UPDATE signing_items SET signature = ?, signed_at = ? WHERE request_id = ? AND idx = ?`, sigs[0], at, requestID, idxs[0])
		return err
	}
	args := make([]any, 0, 2+2*storeRows)
	for len(idxs) > 0 {
		k := min(len(idxs), storeRows)
		args = append(args[:0], at)
		for i := range k {
			args = append(args, idxs[i], sigs[i])
		}
		args = append(args, requestID)
		res, err := tx.Exec(ctx, storeItems[k], args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(k) {
			return kernel.Wrap(fmt.Errorf("%d of %d items updated (%v)", n, k, err), "signing: store signatures")
		}
		idxs, sigs = idxs[k:], sigs[k:]
	}
	return nil
}

// credentialUse is one SignHash's signatures, counted on its credential
// (the adoption figures) when the transaction commits.
type credentialUse struct {
	id string
	n  int
	at int64
}

type credentialUseKey struct{}

// countUses adds up the uses of each credential in a transaction and moves
// its counter once: the signatures of a leader's many single-hash calls
// that share a Batch make one UPDATE, not one each.
func countUses(ctx context.Context, tx *db.Tx, uses []credentialUse) error {
	sum := map[string]credentialUse{}
	var order []string
	for _, u := range uses {
		t, ok := sum[u.id]
		if !ok {
			order = append(order, u.id)
		}
		sum[u.id] = credentialUse{id: u.id, n: t.n + u.n, at: max(t.at, u.at)}
	}
	for _, id := range order {
		u := sum[id]
		var unit string
		err := tx.QueryRow(ctx, `UPDATE signing_credentials SET signatures = signatures + ?, last_used_at = ? WHERE id = ? AND status = ? RETURNING unit_code`,
			u.n, u.at, u.id, CredentialActive).Scan(&unit)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		tally.Add(ctx, tx, IndicatorSignatures, unit, int64(u.n))
	}
	return nil
}

// ApproveAndSign is the holder approving on their phone page for an
// application that waits for the result (it polls Results): the approval's
// SAD is used at once, here, for exactly the request's hashes.
//
// A request whose SAD goes to its application (HandoffPoll: PDFs the
// application finishes with signDoc) is only approved here; the
// application takes the SAD on its next poll.
func (s *Service) ApproveAndSign(ctx context.Context, accountID, requestID, code string) error {
	q, err := s.Request(ctx, accountID, requestID)
	if err != nil {
		return err
	}
	if q.Handoff == HandoffPoll {
		_, err := s.approve(ctx, q, code, false)
		return err
	}
	sad, err := s.approve(ctx, q, code, true)
	if err != nil {
		return err
	}
	_, err = s.SignHash(ctx, HashSigning{Client: q.Client, CredentialID: q.CredentialID, SAD: sad, Hashes: digests(q.Items)})
	return err
}

func digests(items []Item) [][]byte {
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it.Hash
	}
	return out
}

// Results gives the application that submitted a request its state and,
// once signed, the signatures in the order of the items.
func (s *Service) Results(ctx context.Context, client, requestID string) (string, []Item, error) {
	status, err := s.Status(ctx, client, requestID)
	if err != nil {
		return "", nil, err
	}
	if status != RequestDone {
		return status, nil, nil
	}
	items, err := s.items(ctx, s.o.DB.Query, requestID)
	return status, items, err
}

// Status tells an application how its request stands (it polls); only the
// application that submitted it may ask.
func (s *Service) Status(ctx context.Context, client, requestID string) (string, error) {
	var status string
	var expires int64
	err := s.o.DB.QueryRow(ctx, `SELECT status, expires_at FROM signing_requests WHERE id = ? AND client = ?`, requestID, client).Scan(&status, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoRequest()
	}
	if err != nil {
		return "", kernel.Wrap(err, "signing: status")
	}
	if status == RequestPending && !s.o.Clock.Now().Before(time.UnixMicro(expires)) {
		status = RequestExpired
	}
	return status, nil
}

// UnitFigures are the adoption figures of one commune: credentials issued,
// activated by their holders, and used to sign at least once.
type UnitFigures struct {
	UnitCode  string
	Issued    int64
	Activated int64
	Used      int64
}

// Figures gives the adoption figures per commune whose code starts with
// prefix ("" for all), for the dashboards.
func (s *Service) Figures(ctx context.Context, prefix string) ([]UnitFigures, error) {
	rows, err := s.o.DB.Query(ctx, `SELECT unit_code, COUNT(*),
		SUM(CASE WHEN activated_at <> 0 THEN 1 ELSE 0 END), SUM(CASE WHEN signatures > 0 THEN 1 ELSE 0 END)
		FROM signing_credentials WHERE unit_code LIKE ? GROUP BY unit_code ORDER BY unit_code`, prefix+"%")
	if err != nil {
		return nil, kernel.Wrap(err, "signing: figures")
	}
	defer rows.Close()
	var out []UnitFigures
	for rows.Next() {
		var f UnitFigures
		if err := rows.Scan(&f.UnitCode, &f.Issued, &f.Activated, &f.Used); err != nil {
			return nil, kernel.Wrap(err, "signing: figures")
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
