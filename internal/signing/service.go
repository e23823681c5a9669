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
	"log/slog"
	"math/big"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
//
// Withdraw revokes a certificate just issued whose credential could not be
// recorded (the CA and signing write in two transactions): no certificate
// stays valid without a credential that its holder sees and controls.
type Keys interface {
	Issue(ctx context.Context, citizenID string) (*x509.Certificate, error)
	Signer(ctx context.Context, serial *big.Int) (crypto.Signer, *x509.Certificate, error)
	Withdraw(ctx context.Context, serial *big.Int) error
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
	// busy bounds the SignHash calls reading, checking and signing at once
	// to the cores: see SignHash.
	busy chan struct{}
	// writes groups the writes of concurrent SignHash calls: see
	// writeSignatures.
	writes *kernel.Coalescer[*signedWrite]
	// approved keeps what SignHash needs of the SADs minted here.
	approved approvals
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
	s := &Service{o: o, hooks: webhookClient(), nudge: make(chan struct{}, 1), busy: make(chan struct{}, runtime.GOMAXPROCS(0))}
	s.writes = &kernel.Coalescer[*signedWrite]{MaxBatch: 128, Run: s.writeSignatures}
	return s, nil
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

// withdraw undoes an issue whose credential was not recorded: the
// certificate is revoked (cessationOfOperation), so none stays valid
// without its credential. It runs even if ctx was cancelled, since that may
// be why the record failed.
func (s *Service) withdraw(ctx context.Context, cert *x509.Certificate, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.o.Keys.Withdraw(ctx, cert.SerialNumber); err != nil {
		s.o.Logger.ErrorContext(ctx, "signing: a certificate without its credential could not be revoked; revoke it by hand",
			slog.String("serial", strings.ToLower(cert.SerialNumber.Text(16))), slog.String("error", err.Error()))
		return errors.Join(cause, err)
	}
	return cause
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
		ok, err := activateCredential(ctx, tx, accountID, credentialID)
		if err != nil {
			return err
		}
		if !ok {
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
	out, err := findCredentials(ctx, s.o.DB, accountID)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: credentials")
	}
	return out, nil
}

// credential returns a holder's credential; another holder's is NotFound.
func (s *Service) credential(ctx context.Context, accountID, id string) (Credential, error) {
	c, err := findCredential(ctx, s.o.DB, accountID, id)
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
		if err := insertRequest(ctx, tx, r); err != nil {
			return err
		}
		if r.CallbackURL != "" {
			// The application can fetch its secret before the first event.
			if _, err := s.webhookSecrets(ctx, tx, r.Client); err != nil {
				return err
			}
		}
		if _, err := audit.Append(ctx, tx, audit.Entry{Action: "signing.request.submit", SubjectType: "account", SubjectID: r.AccountID,
			Details: map[string]any{"request": r.ID, "credential": r.CredentialID, "client": r.Client, "documents": r.Count}}); err != nil {
			return err
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

// Pending lists the requests waiting for a holder, oldest first.
func (s *Service) Pending(ctx context.Context, accountID string) ([]Request, error) {
	out, err := findPending(ctx, s.o.DB, accountID, s.o.Clock.Now())
	if err != nil {
		return nil, kernel.Wrap(err, "signing: pending")
	}
	return out, nil
}

// Request returns one of a holder's requests with its documents; another
// holder's is NotFound.
func (s *Service) Request(ctx context.Context, accountID, id string) (Request, error) {
	q, err := findRequest(ctx, s.o.DB, accountID, id, s.o.Clock.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, errNoRequest()
	}
	if err != nil {
		return Request{}, kernel.Wrap(err, "signing: request")
	}
	if q.Items, err = s.items(ctx, id); err != nil {
		return Request{}, err
	}
	return q, nil
}

func (s *Service) items(ctx context.Context, requestID string) ([]Item, error) {
	items, err := findItems(ctx, s.o.DB, requestID)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: items")
	}
	return items, nil
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
	var sadExpires time.Time
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		sadExpires = tx.Now.Add(s.o.SADTTL)
		ok, err := approveRequest(ctx, tx, accountID, q.ID, stored, sadExpires)
		if err != nil {
			return err
		}
		if !ok {
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
	if mint {
		s.remember(ctx, q, stored.String, sadExpires)
	}
	return sad, nil
}

// remember keeps what SignHash needs of a SAD just minted for q (see
// approvals); without it SignHash reads the same from the database.
func (s *Service) remember(ctx context.Context, q Request, sadHash string, sadExpires time.Time) {
	c, err := findCredential(ctx, s.o.DB, q.AccountID, q.CredentialID)
	if err != nil || len(q.Items) == 0 {
		return
	}
	index := make(map[string]int, len(q.Items))
	for i, it := range q.Items {
		index[string(it.Hash)] = i
	}
	s.approved.put(sadHash, signingState{id: q.ID, credentialID: q.CredentialID, client: q.Client, accountID: q.AccountID,
		status: RequestApproved, sadHash: sql.NullString{String: sadHash, Valid: true}, sadExpires: sadExpires,
		serial: c.Serial, credentialStatus: c.Status, index: index}, s.o.Clock.Now())
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
		ok, err := refuseRequest(ctx, tx, accountID, requestID)
		if err != nil {
			return err
		}
		if !ok {
			_, err := findRequest(ctx, tx, accountID, requestID, tx.Now)
			if errors.Is(err, sql.ErrNoRows) {
				return errNoRequest()
			}
			if err != nil {
				return err
			}
			return kernel.E(kernel.Conflict, "signing.error.not_pending")
		}
		if _, err := audit.Append(ctx, tx, audit.Entry{Action: "signing.request.refuse", SubjectType: "account", SubjectID: accountID,
			Details: map[string]any{"request": requestID}}); err != nil {
			return err
		}
		client, cb, err := findCallback(ctx, tx, requestID)
		if err != nil {
			return err
		}
		callback = cb
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
	// HashOID and SignAlgo are what a CSC caller names (hashAlgorithmOID,
	// signAlgo): when given, they must match the hashes and the
	// credential's key, or nothing is signed.
	HashOID  string
	SignAlgo string
}

// SignHash signs exactly the hashes the holder approved, with the SAD the
// approval gave, and uses the SAD up. Every signature is audited. The
// signatures come in the order of the hashes; ECDSA signatures are ASN.1
// DER, RSA ones PKCS #1 v1.5.
func (s *Service) SignHash(ctx context.Context, h HashSigning) ([][]byte, error) {
	if h.SAD == "" || len(h.SAD) > 200 || len(h.Hashes) == 0 || len(h.Hashes) > s.o.MaxItems {
		return nil, errBadSAD()
	}
	if h.HashOID != "" {
		hh, ok := hashOIDs[h.HashOID]
		if !ok || h.Hash != 0 && h.Hash != hh {
			return nil, errAlgo()
		}
		h.Hash = hh
	}
	if h.SignAlgo != "" {
		if sa, ok := signAlgos[h.SignAlgo]; !ok || sa.hash != 0 && h.Hash != 0 && sa.hash != h.Hash {
			return nil, errAlgo()
		} else if h.Hash == 0 {
			h.Hash = sa.hash
		}
	}
	if h.Hash == 0 {
		// Told by the length: what a signer is asked to sign must match
		// its hash (a PKCS#11 token checks).
		h.Hash = map[int]crypto.Hash{32: crypto.SHA256, 48: crypto.SHA384, 64: crypto.SHA512}[len(h.Hashes[0])]
	}
	for _, d := range h.Hashes {
		if h.Hash == 0 || len(d) != h.Hash.Size() {
			if h.HashOID != "" || h.SignAlgo != "" {
				return nil, errAlgo() // the hashes are not of the algorithm named
			}
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
	// As many calls read, check and sign at once as there are cores; the
	// others wait here, parked. Without the bound, 64 callers busy on 2
	// cores starve the one goroutine that leads the group commit, which
	// every call then waits for: 64 callers signed fewer hashes a second
	// than 16 (BenchmarkSignHashParallel).
	select {
	case s.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, kernel.Wrap(ctx.Err(), "signing: sign")
	}
	release := sync.OnceFunc(func() { <-s.busy })
	defer release()
	// One read: the request, its credential and its hashes (one row each).
	// Minted here moments ago, most often (approvals); else from the database.
	st, cached := s.approved.take(sh, s.o.Clock.Now())
	if !cached {
		var err error
		if st, err = findSigningState(ctx, s.o.DB, reqID, len(h.Hashes)); err != nil {
			return nil, kernel.Wrap(err, "signing: sign")
		}
	}
	if st.id == "" {
		return nil, errBadSAD()
	}
	if !st.sadHash.Valid || subtle.ConstantTimeCompare([]byte(st.sadHash.String), []byte(sh)) != 1 {
		return nil, errBadSAD()
	}
	if st.credentialID != h.CredentialID || st.client != h.Client || st.status != RequestApproved || !s.o.Clock.Now().Before(st.sadExpires) {
		return nil, errBadSAD()
	}
	if st.credentialStatus != CredentialActive {
		return nil, kernel.E(kernel.Forbidden, "signing.error.credential_inactive")
	}
	id, credID, client, accountID, serial, index := st.id, st.credentialID, st.client, st.accountID, st.serial, st.index
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
	if h.SignAlgo != "" && signAlgos[h.SignAlgo].key != keyKind(signer.Public()) {
		return nil, errAlgo() // the SAD is not used up: the caller may ask again, rightly
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
	w := &signedWrite{ctx: kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: accountID}), id: id, sadHash: sh,
		credentialID: credID, idxs: idxs, sigs: sigs, entries: entries}
	release() // the write waits on the group commit, not on a core
	s.writes.Do(w)
	if w.err != nil {
		return nil, w.err
	}
	if !w.used {
		return nil, errBadSAD()
	}
	return out, nil
}

// signedWrite is what one SignHash writes once its key signed: the SAD
// used up, the signatures, their audit records and the credential's count.
type signedWrite struct {
	ctx          context.Context // with the holder as the actor, for the audit records
	id, sadHash  string
	credentialID string
	idxs         []int
	sigs         []string
	entries      []audit.Entry
	used         bool  // the SAD was used up here, so the signatures may go out
	err          error // the group's transaction failed
}

// writeSignatures writes the signatures of concurrent SignHash calls in
// one statement per table, in one group-commit call: the SADs used up by
// one UPDATE … RETURNING, the items signed by one UPDATE … FROM (VALUES),
// where a savepoint and two statements per call kept the single writer
// busy while the calls queued behind it. A SAD is used up once: of two
// calls in a group with the same request, the second signs nothing; a SAD
// that expired or was used meanwhile signs nothing (the conditions are
// those SignHash checked).
func (s *Service) writeSignatures(group []*signedWrite) {
	ctx := context.Background() // the group's: one caller's cancellation must not fail the others
	err := s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		for _, w := range group {
			w.used = false
		}
		seen := make(map[string]bool, len(group))
		uses := make([]sadUse, 0, len(group))
		for _, w := range group {
			if !seen[w.id] {
				seen[w.id] = true
				uses = append(uses, sadUse{id: w.id, sadHash: w.sadHash})
			}
		}
		used, err := useSADs(ctx, tx, uses)
		if err != nil {
			return err
		}
		var items []signedItem
		for _, w := range group {
			if !used[w.id] {
				continue
			}
			delete(used, w.id) // a second call with the same SAD gets nothing
			w.used = true
			for i, idx := range w.idxs {
				items = append(items, signedItem{requestID: w.id, idx: idx, signature: w.sigs[i]})
			}
			if err := audit.Queue(w.ctx, tx, w.entries...); err != nil {
				return err
			}
			db.Defer(tx, credentialUseKey{}, credentialUse{id: w.credentialID, n: len(w.idxs), at: kernel.Micros(tx.Now)}, countUses)
		}
		return storeSignatures(ctx, tx, items, kernel.Micros(tx.Now))
	})
	for _, w := range group {
		if w.err = err; err != nil {
			w.used = false
		}
	}
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
		unit, err := addCredentialUses(ctx, tx, u.id, u.n, u.at)
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
	items, err := s.items(ctx, requestID)
	return status, items, err
}

// Status tells an application how its request stands (it polls); only the
// application that submitted it may ask.
func (s *Service) Status(ctx context.Context, client, requestID string) (string, error) {
	status, expires, err := findStatus(ctx, s.o.DB, client, requestID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoRequest()
	}
	if err != nil {
		return "", kernel.Wrap(err, "signing: status")
	}
	if status == RequestPending && !s.o.Clock.Now().Before(expires) {
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
	out, err := findFigures(ctx, s.o.DB, prefix)
	if err != nil {
		return nil, kernel.Wrap(err, "signing: figures")
	}
	return out, nil
}
