package pki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The hierarchy: one root, two issuing CAs, and the service certificates
// the trust services sign with.
const (
	Root          = "root"          // self-signed, offline in spirit: signs only CAs
	Citizens      = "citizens"      // citizens' signing certificates (level-2 e-ID)
	Officials     = "officials"     // officials' and organisations' certificates, agency seals
	TSA           = "tsa"           // the time-stamping unit, issued by Officials
	OCSPCitizens  = "ocsp-citizens" // delegated OCSP signer of Citizens
	OCSPOfficials = "ocsp-officials"
	AuditSeal     = "audit" // seals the audit log's checkpoints, issued by Officials
)

// IssuingCAs are the CAs that sign end-entity certificates.
var IssuingCAs = []string{Citizens, Officials}

// hierarchy is the order in which Init makes the pieces: each after its issuer.
var hierarchy = []struct{ name, issuer string }{
	{Root, Root}, {Citizens, Root}, {Officials, Root}, {TSA, Officials}, {OCSPCitizens, Citizens}, {OCSPOfficials, Officials}, {AuditSeal, Officials},
}

// policyArc is civitas's OID arc: a UUID-derived OID (ITU-T X.667, 2.25),
// which needs no registration.
var policyArc = asn1.ObjectIdentifier{2, 25, 305336798, 201080872, 10114600, 663891809, 222}

func policy(n int) asn1.ObjectIdentifier {
	return append(append(asn1.ObjectIdentifier{}, policyArc...), n)
}

// policies converts policy OIDs for x509.Certificate.Policies.
func policies(ids ...asn1.ObjectIdentifier) []x509.OID {
	out := make([]x509.OID, 0, len(ids))
	for _, id := range ids {
		u := make([]uint64, len(id))
		for i, n := range id {
			u[i] = uint64(n)
		}
		oid, err := x509.OIDFromInts(u)
		if err == nil {
			out = append(out, oid)
		}
	}
	return out
}

// criticalTimeStamping is the extended key usage of a TSA certificate:
// id-kp-timeStamping alone, marked critical (RFC 3161 §2.3), which
// crypto/x509 does not do by itself.
func criticalTimeStamping() pkix.Extension {
	v, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: v}
}

// Certificate policies of civitas.
var (
	PolicyCitizen   = policy(1) // a citizen's signing key, identity verified in person (level 2)
	PolicyOfficial  = policy(2) // an official or an organisation
	PolicyTimestamp = policy(3) // the TSA's time-stamping policy
)

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// Validity periods.
const (
	rootValidity    = 20 * 365 * 24 * time.Hour
	caValidity      = 10 * 365 * 24 * time.Hour
	serviceValidity = 2 * 365 * 24 * time.Hour
	holderValidity  = 3 * 365 * 24 * time.Hour
	backdate        = time.Minute // tolerates clocks slightly behind ours
)

// CA is a loaded CA or service certificate and its key.
type CA struct {
	Name   string
	Issuer string
	Cert   *x509.Certificate
	Signer crypto.Signer
	label  string // of its key: a rotation changes it
}

// Options configure the trust services.
type Options struct {
	DB        *db.DB
	Clock     kernel.Clock
	Keys      KeyBackend
	PublicURL string    // base of the AIA, OCSP and CRL URLs in certificates
	Algorithm Algorithm // of new keys; default ECDSAP256
	Province  string    // organisation name in the CA subjects
	Holders   Holders   // who may get a citizen certificate
	Officers  Officers  // who may revoke others' certificates
	// Organisations names officials at their posts and agencies, for
	// officials' certificates and agency seals.
	Organisations Organisations
	Logger        *slog.Logger
}

// Service is the CA hierarchy with its certificate store.
type Service struct {
	o   Options
	mu  sync.RWMutex
	cas map[string]*CA

	crlMu sync.Mutex
	crls  map[string]cachedCRL

	keys keyCache // opened holder keys, briefly

	onlineMu sync.Mutex
	online   atomic.Pointer[online] // OCSP and TSA, once StartOnline ran
}

// New loads the hierarchy if it exists; Init creates what is missing.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Algorithm == "" {
		o.Algorithm = ECDSAP256
	}
	if o.Province == "" {
		o.Province = "civitas"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	s := &Service{o: o, cas: map[string]*CA{}, crls: map[string]cachedCRL{}}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) load(ctx context.Context) error {
	rows, err := s.o.DB.Query(ctx, `SELECT name, issuer, key_label, cert FROM pki_cas`)
	if err != nil {
		return kernel.Wrap(err, "pki: load CAs")
	}
	type row struct{ name, issuer, label, cert string }
	var found []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.name, &r.issuer, &r.label, &r.cert); err != nil {
			rows.Close()
			return kernel.Wrap(err, "pki: load CAs")
		}
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return kernel.Wrap(err, "pki: load CAs")
	}
	cas := map[string]*CA{}
	for _, r := range found {
		cert, err := parseStored(r.cert)
		if err != nil {
			return kernel.Wrap(err, "pki: CA %s", r.name)
		}
		signer, err := s.o.Keys.Load(ctx, r.label)
		if err != nil {
			return kernel.Wrap(err, "pki: key of CA %s", r.name)
		}
		cas[r.name] = &CA{Name: r.name, Issuer: r.issuer, Cert: cert, Signer: signer, label: r.label}
	}
	s.mu.Lock()
	s.cas = cas
	s.mu.Unlock()
	return nil
}

// Ready reports whether the whole hierarchy exists.
func (s *Service) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range hierarchy {
		if s.cas[h.name] == nil {
			return false
		}
	}
	return true
}

// CA returns a loaded CA or service certificate by name.
func (s *Service) CA(name string) (*CA, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ca := s.cas[name]
	if ca == nil {
		return nil, kernel.E(kernel.NotFound, "pki.error.no_ca")
	}
	return ca, nil
}

// Init creates the parts of the hierarchy that do not exist yet, each key
// inside the key backend. Two processes initialising at once are safe: the
// loser of a race reloads the winner's CA. It reports what it created.
func (s *Service) Init(ctx context.Context) (created []string, err error) {
	for _, h := range hierarchy {
		if _, err := s.CA(h.name); err == nil {
			continue
		}
		issuer := (*CA)(nil)
		if h.issuer != h.name {
			if issuer, err = s.CA(h.issuer); err != nil {
				return created, err
			}
		}
		ok, err := s.create(ctx, h.name, issuer)
		if err != nil {
			return created, err
		}
		if ok {
			created = append(created, h.name)
		}
		if err := s.load(ctx); err != nil {
			return created, err
		}
	}
	return created, nil
}

func (s *Service) create(ctx context.Context, name string, issuer *CA) (bool, error) {
	label := "ca:" + name + ":" + kernel.NewID()
	signer, err := s.o.Keys.Generate(ctx, label, s.o.Algorithm)
	if err != nil {
		return false, err
	}
	now := s.o.Clock.Now()
	tmpl := s.template(name, issuer, now)
	if issuer == nil {
		issuer = &CA{Name: name, Signer: signer}
	}
	cert, err := s.sign(tmpl, signer.Public(), issuer)
	if err != nil {
		return false, err
	}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO pki_cas (name, issuer, key_label, cert, created_at) VALUES (?, ?, ?, ?, ?)`,
			name, issuer.Name, label, stored(cert.Raw), kernel.Micros(tx.Now)); err != nil {
			return err
		}
		if name != Root {
			if err := insertCert(ctx, tx, issuer.Name, "service", "", label, cert); err != nil {
				return err
			}
		}
		_, err := audit.Append(kernel.WithActor(ctx, kernel.System("pki")), tx, audit.Entry{Action: "pki.ca.create",
			SubjectType: "certificate", SubjectID: serialHex(cert.SerialNumber), Details: map[string]any{"ca": name, "issuer": issuer.Name,
				"backend": s.o.Keys.Name(), "algorithm": string(s.o.Algorithm)}})
		return err
	})
	if db.IsUniqueViolation(err) {
		return false, nil // another process made it first
	}
	if err != nil {
		return false, kernel.Wrap(err, "pki: store CA %s", name)
	}
	s.o.Logger.InfoContext(ctx, "pki: created", slog.String("ca", name), slog.String("issuer", issuer.Name), slog.String("backend", s.o.Keys.Name()))
	return true, nil
}

// template is the certificate of a piece of the hierarchy, before its key:
// its subject, validity, usages and links, as Init makes it and as a
// rotation of a service certificate makes it again.
func (s *Service) template(name string, issuer *CA, now time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		NotBefore:             now.Add(-backdate),
		BasicConstraintsValid: true,
	}
	switch name {
	case Root:
		tmpl.RawSubject = subject(s.o.Province, "civitas Root CA")
		tmpl.NotAfter = now.Add(rootValidity)
		tmpl.IsCA, tmpl.MaxPathLen = true, 1
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	case Citizens, Officials:
		cn := map[string]string{Citizens: "civitas Citizens Signing CA", Officials: "civitas Officials and Organisations CA"}[name]
		tmpl.RawSubject = subject(s.o.Province, cn)
		tmpl.NotAfter = now.Add(caValidity)
		tmpl.IsCA, tmpl.MaxPathLenZero = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.Policies = policies(PolicyCitizen, PolicyOfficial)
		s.links(tmpl, issuer.Name, "")
	case TSA:
		tmpl.RawSubject = subject(s.o.Province, "civitas Time-Stamping Authority")
		tmpl.NotAfter = now.Add(serviceValidity)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		tmpl.ExtraExtensions = []pkix.Extension{criticalTimeStamping()}
		tmpl.Policies = policies(PolicyTimestamp)
		s.links(tmpl, issuer.Name, issuer.Name)
	case AuditSeal:
		tmpl.RawSubject = subject(s.o.Province, "civitas Audit Log Seal")
		tmpl.NotAfter = now.Add(caValidity)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		tmpl.Policies = policies(PolicyOfficial)
		s.links(tmpl, issuer.Name, issuer.Name)
	case OCSPCitizens, OCSPOfficials:
		tmpl.RawSubject = subject(s.o.Province, "civitas OCSP Responder ("+issuer.Name+")")
		tmpl.NotAfter = now.Add(serviceValidity)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}}
		s.links(tmpl, issuer.Name, "")
	}
	return tmpl
}

// links adds where relying parties find the issuer, its revocation list and
// (for end entities) the OCSP responder.
func (s *Service) links(tmpl *x509.Certificate, issuer, ocspFor string) {
	base := s.baseURL()
	tmpl.IssuingCertificateURL = []string{base + "/pki/ca/" + issuer + ".crt"}
	tmpl.CRLDistributionPoints = []string{base + "/pki/crl/" + issuer + ".crl"}
	if ocspFor != "" {
		tmpl.OCSPServer = []string{base + "/pki/ocsp"}
	}
}

// baseURL is where the hierarchy's services live: fixed when the first
// issuing CA was made (its CRL distribution point says it), so every
// certificate points to the same place whichever process issues it; the
// configured public URL before that.
func (s *Service) baseURL() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, name := range IssuingCAs {
		if ca := s.cas[name]; ca != nil && len(ca.Cert.CRLDistributionPoints) > 0 {
			if base, ok := strings.CutSuffix(ca.Cert.CRLDistributionPoints[0], "/pki/crl/"+ca.Issuer+".crl"); ok {
				return base
			}
		}
	}
	return s.o.PublicURL
}

// sign issues tmpl for pub under issuer with a fresh random serial. Every
// certificate names its key (Subject Key Identifier, RFC 5280 §4.2.1.2):
// crypto/x509 does so only for CAs, and validators building chains by key
// identifier (and zlint) want it on end entities too. The Authority Key
// Identifier comes from the issuer's.
func (s *Service) sign(tmpl *x509.Certificate, pub crypto.PublicKey, issuer *CA) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if len(tmpl.SubjectKeyId) == 0 {
		if tmpl.SubjectKeyId, err = keyID(pub); err != nil {
			return nil, kernel.Wrap(err, "pki: key identifier")
		}
	}
	parent := tmpl
	if issuer.Cert != nil {
		parent = issuer.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, issuer.Signer)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: sign certificate")
	}
	return x509.ParseCertificate(der)
}

// keyID is the key identifier of pub by method 1 of RFC 7093 §2: the
// leftmost 160 bits of the SHA-256 hash of the subjectPublicKey bits, as
// crypto/x509 makes it for CAs.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

// newSerial is a positive 128-bit random serial (RFC 5280 allows 20 octets;
// CA/B asks for 64 bits of randomness).
func newSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // always 16 octets, never a leading zero
	return new(big.Int).SetBytes(b), nil
}

func serialHex(n *big.Int) string { return strings.ToLower(n.Text(16)) }

// ParseSerial reads a serial number in hex, as operators type it.
func ParseSerial(s string) (*big.Int, error) {
	s = strings.TrimPrefix(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", "")), "0x")
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || n.Sign() <= 0 || len(s) > 40 {
		return nil, kernel.E(kernel.Invalid, "pki.error.bad_serial")
	}
	return n, nil
}

// subject builds a CA's or service's distinguished name. Names are
// UTF8String, as RFC 5280 asks and Vietnamese names need; the country is
// PrintableString.
func subject(org, cn string) []byte {
	return subjectOf(rdn{oidCountry, "VN", "printable"}, rdn{oidOrganization, org, "utf8"}, rdn{oidCommonName, cn, "utf8"})
}

func stored(der []byte) string { return base64.StdEncoding.EncodeToString(der) }

func parseStored(s string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func spkiHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// insertCert records an issued certificate. A public key certified before
// is refused: each key belongs to one certificate holder (Decree 23/2025).
func insertCert(ctx context.Context, tx *db.Tx, ca, kind, accountID, keyLabel string, cert *x509.Certificate) error {
	_, err := tx.Exec(ctx, `INSERT INTO pki_certs (serial, ca, kind, account_id, subject, spki_sha256, key_label, cert, not_before, not_after, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, serialHex(cert.SerialNumber), ca, kind, accountID, cert.Subject.CommonName,
		spkiHash(cert), keyLabel, stored(cert.Raw), kernel.Micros(cert.NotBefore), kernel.Micros(cert.NotAfter), kernel.Micros(tx.Now))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "pki.error.key_not_unique")
	}
	return err
}

// errNoRows reports sql.ErrNoRows through wrapping.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// PublicURL is the public URL of the hierarchy, as its certificates name
// it: what commands run away from the server (with no --public-url) give
// the documents they make.
func (s *Service) PublicURL() string { return s.baseURL() }
