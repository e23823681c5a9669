package pki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Holder is a person who may hold a signing certificate, as the e-ID knows
// them.
type Holder struct {
	AccountID string
	CitizenID string
	Name      string // full name as the population registry holds it
	Level     int    // e-ID assurance level
}

// Holders finds a person's e-ID account by citizen ID number.
type Holders interface {
	Holder(ctx context.Context, citizenID string) (Holder, error)
}

// Issued is a certificate issued to a holder, with the label of its key in
// the key backend (keys are kept server-side; their holder approves each
// signature).
type Issued struct {
	Cert     *x509.Certificate
	KeyLabel string
}

// IssueCitizen makes a signing key for a citizen inside the key backend and
// certifies it under the Citizens CA. Decree 23/2025: only a level-2 e-ID
// may apply.
func (s *Service) IssueCitizen(ctx context.Context, citizenID string) (Issued, error) {
	if s.o.Holders == nil {
		return Issued{}, kernel.E(kernel.Unavailable, "pki.error.no_holders")
	}
	h, err := s.o.Holders.Holder(ctx, citizenID)
	if err != nil {
		return Issued{}, err
	}
	if h.Level < 2 {
		return Issued{}, kernel.E(kernel.Forbidden, "pki.error.level2_required")
	}
	subj := subjectOf(
		rdn{oidCountry, "VN", "printable"},
		rdn{oidOrganization, s.o.Province, "utf8"},
		rdn{oidSerialNumber, "EID-" + h.AccountID, "printable"},
		rdn{oidCommonName, h.Name, "utf8"},
	)
	return s.issueEndEntity(ctx, Citizens, PolicyCitizen, "citizen", h.AccountID, "holder:"+h.AccountID+":"+kernel.NewID(), subj,
		audit.Entry{Action: "pki.cert.issue", SubjectType: "account", SubjectID: h.AccountID})
}

// Reasons are the RFC 5280 CRLReason codes an operator may give, by name.
var Reasons = map[string]int{
	"unspecified": 0, "keyCompromise": 1, "cACompromise": 2, "affiliationChanged": 3, "superseded": 4,
	"cessationOfOperation": 5, "certificateHold": 6, "privilegeWithdrawn": 9, "aACompromise": 10,
}

// ReasonHold is a suspension (a lost phone that may be found again).
const ReasonHold = 6

// Revoke revokes (or, with ReasonHold, suspends) a certificate. Revoking a
// revoked certificate changes nothing; a suspended one may be revoked for
// good. The CRL and OCSP answers follow at once.
func (s *Service) Revoke(ctx context.Context, serial *big.Int, reason int) error {
	valid := false
	for _, r := range Reasons {
		valid = valid || r == reason
	}
	if !valid {
		return kernel.E(kernel.Invalid, "pki.error.bad_reason")
	}
	hexSerial := serialHex(serial)
	var ca string
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var revokedAt int64
		var old int
		err := tx.QueryRow(ctx, `SELECT ca, revoked_at, reason FROM pki_certs WHERE serial = ?`, hexSerial).Scan(&ca, &revokedAt, &old)
		if errNoRows(err) {
			return kernel.E(kernel.NotFound, "pki.error.no_certificate")
		}
		if err != nil {
			return err
		}
		if revokedAt != 0 && (old != ReasonHold || reason == ReasonHold) {
			return kernel.E(kernel.Conflict, "pki.error.already_revoked")
		}
		if _, err := tx.Exec(ctx, `UPDATE pki_certs SET revoked_at = ?, reason = ? WHERE serial = ?`, kernel.Micros(tx.Now), reason, hexSerial); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "pki.cert.revoke", SubjectType: "certificate", SubjectID: hexSerial,
			Details: map[string]any{"ca": ca, "reason": reason}})
		return err
	})
	if err != nil {
		return err
	}
	s.invalidate(ca, serial)
	return nil
}

// State is a certificate's revocation state.
type State int

// The states OCSP reports.
const (
	Good State = iota
	Revoked
	Unknown
)

// Status is what the CA knows of a serial number.
type Status struct {
	State     State
	RevokedAt time.Time
	Reason    int
}

// Status looks a serial up in the store of an issuing CA.
func (s *Service) Status(ctx context.Context, ca string, serial *big.Int) (Status, error) {
	var revokedAt int64
	var reason int
	err := s.o.DB.QueryRow(ctx, `SELECT revoked_at, reason FROM pki_certs WHERE serial = ? AND ca = ?`, serialHex(serial), ca).Scan(&revokedAt, &reason)
	switch {
	case errNoRows(err):
		return Status{State: Unknown}, nil
	case err != nil:
		return Status{}, kernel.Wrap(err, "pki: status")
	case revokedAt != 0:
		return Status{State: Revoked, RevokedAt: time.UnixMicro(revokedAt).UTC(), Reason: reason}, nil
	}
	return Status{State: Good}, nil
}

// crlValidity is how long a CRL is valid; it is remade well before, and at
// once after a revocation.
const (
	crlValidity = 24 * time.Hour
	crlRefresh  = time.Hour
)

type cachedCRL struct {
	der      []byte
	made     time.Time
	revision int64 // the newest revocation it includes
}

// CRL returns the current revocation list of an issuing CA (or of the root,
// listing revoked CAs), making a new one when a revocation happened since
// or the last one is older than crlRefresh.
func (s *Service) CRL(ctx context.Context, name string) ([]byte, error) {
	ca, err := s.CA(name)
	if err != nil || !ca.Cert.IsCA {
		return nil, kernel.E(kernel.NotFound, "pki.error.no_ca")
	}
	var newest int64
	if err := s.o.DB.QueryRow(ctx, `SELECT COALESCE(MAX(revoked_at), 0) FROM pki_certs WHERE ca = ?`, name).Scan(&newest); err != nil {
		return nil, kernel.Wrap(err, "pki: CRL")
	}
	now := s.o.Clock.Now()
	s.crlMu.Lock()
	defer s.crlMu.Unlock()
	if c, ok := s.crls[name]; ok && c.revision == newest && now.Sub(c.made) < crlRefresh && !now.Before(c.made) {
		return c.der, nil
	}
	rows, err := s.o.DB.Query(ctx, `SELECT serial, revoked_at, reason FROM pki_certs WHERE ca = ? AND revoked_at <> 0 AND not_after > ?`, name, kernel.Micros(now))
	if err != nil {
		return nil, kernel.Wrap(err, "pki: CRL")
	}
	defer rows.Close()
	var entries []x509.RevocationListEntry
	for rows.Next() {
		var serial string
		var at int64
		var reason int
		if err := rows.Scan(&serial, &at, &reason); err != nil {
			return nil, kernel.Wrap(err, "pki: CRL")
		}
		n, ok := new(big.Int).SetString(serial, 16)
		if !ok {
			continue
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: time.UnixMicro(at).UTC(), ReasonCode: reason})
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "pki: CRL")
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(now.UnixMicro()), // increases with every list
		ThisUpdate:                now.Add(-backdate),
		NextUpdate:                now.Add(crlValidity),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Signer)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: sign CRL")
	}
	s.crls[name] = cachedCRL{der: der, made: now, revision: newest}
	return der, nil
}

// invalidate drops what a revocation makes stale.
func (s *Service) invalidate(ca string, serial *big.Int) {
	s.crlMu.Lock()
	delete(s.crls, ca)
	s.crlMu.Unlock()
	if on := s.online.Load(); on != nil && on.responders[ca] != nil {
		on.responders[ca].Invalidate(serial)
	}
}

// CertInfo is a certificate as its holder sees it.
type CertInfo struct {
	Serial    string
	CA        string
	Subject   string
	NotBefore time.Time
	NotAfter  time.Time
	RevokedAt time.Time // zero while valid
	Reason    int
}

// Certificates lists an account's certificates, newest first.
func (s *Service) Certificates(ctx context.Context, accountID string) ([]CertInfo, error) {
	rows, err := s.o.DB.Query(ctx, `SELECT serial, ca, subject, not_before, not_after, revoked_at, reason FROM pki_certs
		WHERE account_id = ? ORDER BY created_at DESC, serial`, accountID)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: list certificates")
	}
	defer rows.Close()
	var out []CertInfo
	for rows.Next() {
		var c CertInfo
		var nb, na, ra int64
		if err := rows.Scan(&c.Serial, &c.CA, &c.Subject, &nb, &na, &ra, &c.Reason); err != nil {
			return nil, kernel.Wrap(err, "pki: list certificates")
		}
		c.NotBefore, c.NotAfter = time.UnixMicro(nb).UTC(), time.UnixMicro(na).UTC()
		if ra != 0 {
			c.RevokedAt = time.UnixMicro(ra).UTC()
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// holderReasons are the reasons a holder may give for their own
// certificate: a lost or stolen phone (suspend, or revoke for good), a
// compromised key, or no longer needing it.
var holderReasons = map[int]bool{0: true, 1: true, 4: true, 5: true, ReasonHold: true}

// RevokeOwn revokes a certificate for its holder. Someone else's
// certificate is NotFound, as if it did not exist.
func (s *Service) RevokeOwn(ctx context.Context, accountID string, serial *big.Int, reason int) error {
	if !holderReasons[reason] {
		return kernel.E(kernel.Invalid, "pki.error.bad_reason")
	}
	var owner string
	err := s.o.DB.QueryRow(ctx, `SELECT account_id FROM pki_certs WHERE serial = ?`, serialHex(serial)).Scan(&owner)
	if errNoRows(err) || err == nil && (owner != accountID || accountID == "") {
		return kernel.E(kernel.NotFound, "pki.error.no_certificate")
	}
	if err != nil {
		return kernel.Wrap(err, "pki: revoke")
	}
	return s.Revoke(kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: accountID}), serial, reason)
}

// Officers decides whether an official, at a post of an agency, may act on
// the certificates of an account holder: in civitas, police officers and
// one-stop officers for people living in their area.
type Officers interface {
	MayActFor(ctx context.Context, officerAccountID, agencyCode, holderAccountID string) error
}

// RevokeAsOfficer revokes a holder's certificate at an officer's request
// (the holder came to the desk, or a court ordered it). Any RFC 5280
// reason but the CA's own is allowed; outside the officer's area it is
// Forbidden.
func (s *Service) RevokeAsOfficer(ctx context.Context, officerAccountID, agencyCode string, serial *big.Int, reason int) error {
	if s.o.Officers == nil || officerAccountID == "" {
		return kernel.E(kernel.Forbidden, "pki.error.not_officer")
	}
	if reason == Reasons["cACompromise"] || reason == Reasons["aACompromise"] {
		return kernel.E(kernel.Invalid, "pki.error.bad_reason")
	}
	var owner string
	err := s.o.DB.QueryRow(ctx, `SELECT account_id FROM pki_certs WHERE serial = ?`, serialHex(serial)).Scan(&owner)
	if errNoRows(err) || err == nil && owner == "" {
		return kernel.E(kernel.NotFound, "pki.error.no_certificate")
	}
	if err != nil {
		return kernel.Wrap(err, "pki: revoke")
	}
	if err := s.o.Officers.MayActFor(ctx, officerAccountID, agencyCode, owner); err != nil {
		return err
	}
	return s.Revoke(kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorOfficial, ID: officerAccountID}), serial, reason)
}

// Renew gives a holder a new certificate with a new key (a key is certified
// once) and retires the old one as superseded. The old certificate must be
// the holder's and still valid.
func (s *Service) Renew(ctx context.Context, citizenID string, old *big.Int) (Issued, error) {
	h, err := s.o.Holders.Holder(ctx, citizenID)
	if err != nil {
		return Issued{}, err
	}
	var owner string
	var revokedAt int64
	err = s.o.DB.QueryRow(ctx, `SELECT account_id, revoked_at FROM pki_certs WHERE serial = ?`, serialHex(old)).Scan(&owner, &revokedAt)
	if errNoRows(err) || err == nil && owner != h.AccountID {
		return Issued{}, kernel.E(kernel.NotFound, "pki.error.no_certificate")
	}
	if err != nil {
		return Issued{}, kernel.Wrap(err, "pki: renew")
	}
	if revokedAt != 0 {
		return Issued{}, kernel.E(kernel.Conflict, "pki.error.already_revoked")
	}
	issued, err := s.IssueCitizen(ctx, citizenID)
	if err != nil {
		return Issued{}, err
	}
	if err := s.Revoke(ctx, old, Reasons["superseded"]); err != nil {
		return issued, err
	}
	return issued, nil
}

// HolderSigner returns the key of a holder's certificate, for the signing
// service alone, which calls it only once the holder approved the
// signatures (sole control). A revoked, suspended or expired certificate
// has no key to give: Forbidden.
func (s *Service) HolderSigner(ctx context.Context, serial *big.Int) (crypto.Signer, *x509.Certificate, error) {
	sh := serialHex(serial)
	// The revocation state is read every time: suspending is the holder's
	// brake and must hold at once. Only the parsed certificate and the
	// opened key are kept a little while, for a holder signing in bursts.
	var label string
	var revokedAt int64
	err := s.o.DB.QueryRow(ctx, `SELECT key_label, revoked_at FROM pki_certs WHERE serial = ?`, sh).Scan(&label, &revokedAt)
	if errNoRows(err) || err == nil && label == "" {
		return nil, nil, kernel.E(kernel.NotFound, "pki.error.no_certificate")
	}
	if err != nil {
		return nil, nil, kernel.Wrap(err, "pki: holder key")
	}
	if revokedAt != 0 {
		s.keys.drop(sh)
		return nil, nil, kernel.E(kernel.Forbidden, "pki.error.certificate_not_valid")
	}
	now := s.o.Clock.Now()
	k, ok := s.keys.get(sh, now)
	if !ok {
		var certB64 string
		if err := s.o.DB.QueryRow(ctx, `SELECT cert FROM pki_certs WHERE serial = ?`, sh).Scan(&certB64); err != nil {
			return nil, nil, kernel.Wrap(err, "pki: holder key")
		}
		if k.cert, err = parseStored(certB64); err != nil {
			return nil, nil, kernel.Wrap(err, "pki: holder key")
		}
		if k.signer, err = s.o.Keys.Load(ctx, label); err != nil {
			return nil, nil, err
		}
		s.keys.put(sh, k, now)
	}
	if now.After(k.cert.NotAfter) || now.Before(k.cert.NotBefore) {
		return nil, nil, kernel.E(kernel.Forbidden, "pki.error.certificate_not_valid")
	}
	return k.signer, k.cert, nil
}

// keyCache keeps opened holder keys for a minute after use, so a holder
// signing a stack of documents one by one does not pay for opening the key
// (unsealing and parsing it) each time. It is small and short-lived on
// purpose: an opened software key is key material in memory.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	signer crypto.Signer
	cert   *x509.Certificate
	until  time.Time
}

const (
	keyCacheTTL  = time.Minute
	keyCacheSize = 1024
)

func (c *keyCache) get(serial string, now time.Time) (cachedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[serial]
	if !ok || now.After(k.until) {
		delete(c.m, serial)
		return cachedKey{}, false
	}
	return k, true
}

func (c *keyCache) put(serial string, k cachedKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= keyCacheSize {
		c.m = map[string]cachedKey{} // dropping all at once is rare and simple
	}
	k.until = now.Add(keyCacheTTL)
	c.m[serial] = k
}

func (c *keyCache) drop(serial string) {
	c.mu.Lock()
	delete(c.m, serial)
	c.mu.Unlock()
}

// Chain returns an issued certificate with the CAs above it, up to the
// root: what a relying party needs to check a signature made with it.
func (s *Service) Chain(ctx context.Context, serial *big.Int) ([]*x509.Certificate, error) {
	var certB64, caName string
	err := s.o.DB.QueryRow(ctx, `SELECT cert, ca FROM pki_certs WHERE serial = ?`, serialHex(serial)).Scan(&certB64, &caName)
	if errNoRows(err) {
		return nil, kernel.E(kernel.NotFound, "pki.error.no_certificate")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "pki: chain")
	}
	cert, err := parseStored(certB64)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: chain")
	}
	chain := []*x509.Certificate{cert}
	for name := caName; ; {
		ca, err := s.CA(name)
		if err != nil {
			return nil, err
		}
		chain = append(chain, ca.Cert)
		if ca.Issuer == ca.Name || len(chain) > 5 {
			return chain, nil
		}
		name = ca.Issuer
	}
}
