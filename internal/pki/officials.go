package pki

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Official is a person holding a post at an agency, as the e-ID and the
// registry of officials know them.
type Official struct {
	Holder
	AgencyCode string
	AgencyName string
	Role       string // as the registry of officials names it
}

// Agency is a public agency that seals documents.
type Agency struct {
	Code string
	Name string
}

// Organisations tells the CA who holds which post and which agencies exist.
type Organisations interface {
	// Official returns the holder of citizenID at agencyCode; a person
	// without a post there is Forbidden.
	Official(ctx context.Context, citizenID, agencyCode string) (Official, error)
	Agency(ctx context.Context, code string) (Agency, error)
}

var (
	oidTitle                  = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
)

// IssueOfficial certifies a signing key for an official at their post,
// under the Officials CA: the subject names the person, the agency and the
// role, so a signed decision shows who signed it in which capacity. The
// official needs a level-2 e-ID, as citizens do.
func (s *Service) IssueOfficial(ctx context.Context, citizenID, agencyCode string) (Issued, error) {
	if s.o.Organisations == nil {
		return Issued{}, kernel.E(kernel.Unavailable, "pki.error.no_holders")
	}
	o, err := s.o.Organisations.Official(ctx, citizenID, agencyCode)
	if err != nil {
		return Issued{}, err
	}
	if o.Level < 2 {
		return Issued{}, kernel.E(kernel.Forbidden, "pki.error.level2_required")
	}
	subj := subjectOf(
		rdn{oidCountry, "VN", "printable"},
		rdn{oidOrganization, o.AgencyName, "utf8"},
		rdn{oidTitle, o.Role, "utf8"},
		rdn{oidSerialNumber, "EID-" + o.AccountID, "printable"},
		rdn{oidCommonName, o.Name, "utf8"},
	)
	return s.issueEndEntity(ctx, Officials, PolicyOfficial, "official", o.AccountID, "official:"+o.AccountID+":"+agencyCode+":"+kernel.NewID(), subj,
		audit.Entry{Action: "pki.cert.issue_official", SubjectType: "account", SubjectID: o.AccountID, Details: map[string]any{"agency": agencyCode}})
}

// IssueSeal certifies an agency's seal key (an electronic seal: the agency,
// not a person, signs), under the Officials CA. The organisation identifier
// follows ETSI EN 319 412-1 with a national scheme: "VN:GOV-" and the
// agency code.
func (s *Service) IssueSeal(ctx context.Context, agencyCode string) (Issued, error) {
	if s.o.Organisations == nil {
		return Issued{}, kernel.E(kernel.Unavailable, "pki.error.no_holders")
	}
	a, err := s.o.Organisations.Agency(ctx, agencyCode)
	if err != nil {
		return Issued{}, err
	}
	subj := subjectOf(
		rdn{oidCountry, "VN", "printable"},
		rdn{oidOrganization, a.Name, "utf8"},
		rdn{oidOrganizationIdentifier, "VN:GOV-" + a.Code, "utf8"},
		rdn{oidCommonName, a.Name, "utf8"},
	)
	return s.issueEndEntity(ctx, Officials, PolicyOfficial, "seal", SealOwner(a.Code), "seal:"+a.Code+":"+kernel.NewID(), subj,
		audit.Entry{Action: "pki.cert.issue_seal", SubjectType: "agency", SubjectID: a.Code})
}

// SealOwner is how the certificate store names the holder of an agency's
// seal, in the place of an account.
func SealOwner(agencyCode string) string { return "agency:" + agencyCode }

// issueEndEntity makes a key in the key backend and certifies it under an
// issuing CA for signing (digitalSignature and contentCommitment, as PDF
// validators expect of a signer), recording the certificate and the audit
// entry in one transaction.
func (s *Service) issueEndEntity(ctx context.Context, caName string, policy asn1.ObjectIdentifier, kind, accountID, label string, subj []byte, entry audit.Entry) (Issued, error) {
	ca, err := s.CA(caName)
	if err != nil {
		return Issued{}, err
	}
	signer, err := s.o.Keys.Generate(ctx, label, s.o.Algorithm)
	if err != nil {
		return Issued{}, err
	}
	now := s.o.Clock.Now()
	tmpl := &x509.Certificate{
		RawSubject:            subj,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(holderValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		Policies:              policies(policy),
	}
	s.links(tmpl, ca.Name, ca.Name)
	cert, err := s.sign(tmpl, signer.Public(), ca)
	if err != nil {
		return Issued{}, err
	}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		if err := insertCert(ctx, tx, ca.Name, kind, accountID, label, cert); err != nil {
			return err
		}
		details := map[string]any{"serial": serialHex(cert.SerialNumber), "ca": ca.Name}
		if m, ok := entry.Details.(map[string]any); ok {
			for k, v := range m {
				details[k] = v
			}
		}
		entry.Details = details
		_, err := audit.Append(ctx, tx, entry)
		return err
	})
	if err != nil {
		return Issued{}, err
	}
	return Issued{Cert: cert, KeyLabel: label}, nil
}

// rdn is one attribute of a distinguished name and how its string is typed.
type rdn struct {
	oid    asn1.ObjectIdentifier
	value  string
	params string // "utf8" or "printable"
}

var (
	oidCountry      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// subjectOf encodes a distinguished name, one attribute per RDN, in order.
func subjectOf(attrs ...rdn) []byte {
	var seq pkix.RDNSequence
	for _, a := range attrs {
		raw, _ := asn1.MarshalWithParams(a.value, a.params)
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: a.oid, Value: asn1.RawValue{FullBytes: raw}}})
	}
	der, _ := asn1.Marshal(seq)
	return der
}
