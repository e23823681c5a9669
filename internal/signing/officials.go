package signing

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"strings"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Capacity is the post an official signs in: their title at an agency, as
// the certificate of their credential names them. A citizen's own
// credential has none (the zero Capacity).
type Capacity struct {
	AgencyCode string
	AgencyName string
	Title      string
}

// Official reports whether c is an official's post rather than a citizen
// signing for themselves.
func (c Capacity) Official() bool { return c.AgencyCode != "" }

// String is the capacity as a signed document shows it: "Chủ tịch, UBND xã
// Tân Phú"; "" for a citizen's own.
func (c Capacity) String() string {
	if !c.Official() {
		return ""
	}
	if c.Title == "" {
		return c.AgencyName
	}
	return c.Title + ", " + c.AgencyName
}

// Officials is what signing needs to let officials sign in their capacity:
// the posts an account holds, and a key certified under the Officials CA
// for one of them (the CA checks the post again and the e-ID level).
type Officials interface {
	Posts(ctx context.Context, accountID string) ([]Capacity, error)
	IssueOfficial(ctx context.Context, citizenID, agencyCode string) (*x509.Certificate, error)
}

// Posts lists the posts an account may enrol an official's credential for:
// none for a citizen without a post, or when officials' credentials are
// turned off.
func (s *Service) Posts(ctx context.Context, accountID string) ([]Capacity, error) {
	if s.o.Officials == nil {
		return nil, nil
	}
	return s.o.Officials.Posts(ctx, accountID)
}

// EnrolOfficial certifies a new signing key for an official at their post
// in agencyCode, under the Officials CA, and records the credential with
// that capacity, to be activated by its holder as a citizen's is. Someone
// without a post there is Forbidden; one usable credential per post.
func (s *Service) EnrolOfficial(ctx context.Context, accountID, citizenID, unitCode, agencyCode string) (Credential, error) {
	if s.o.Officials == nil {
		return Credential{}, kernel.E(kernel.Unavailable, "signing.error.no_officials")
	}
	posts, err := s.o.Officials.Posts(ctx, accountID)
	if err != nil {
		return Credential{}, err
	}
	var post Capacity
	for _, p := range posts {
		if p.AgencyCode == agencyCode && agencyCode != "" {
			post = p
		}
	}
	if !post.Official() {
		return Credential{}, kernel.E(kernel.Forbidden, "signing.error.not_official")
	}
	creds, err := s.Credentials(ctx, accountID)
	if err != nil {
		return Credential{}, err
	}
	for _, c := range creds {
		if c.Capacity.AgencyCode == agencyCode && c.Status != CredentialDisabled {
			return Credential{}, kernel.E(kernel.Conflict, "signing.error.already_enrolled")
		}
	}
	cert, err := s.o.Officials.IssueOfficial(ctx, citizenID, agencyCode)
	if err != nil {
		return Credential{}, err
	}
	return s.record(ctx, accountID, unitCode, cert, capacityOf(cert, post))
}

// record keeps a credential just certified, to be activated by its holder.
func (s *Service) record(ctx context.Context, accountID, unitCode string, cert *x509.Certificate, capacity Capacity) (Credential, error) {
	c := Credential{ID: kernel.NewID(), AccountID: accountID, Serial: strings.ToLower(cert.SerialNumber.Text(16)), Status: CredentialIssued, Capacity: capacity}
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		c.CreatedAt = tx.Now
		if err := tallyEnrol(ctx, tx, accountID, unitCode); err != nil {
			return err
		}
		if err := insertCredential(ctx, tx, c, unitCode); err != nil {
			return err
		}
		details := map[string]any{"credential": c.ID, "serial": c.Serial}
		if capacity.Official() {
			details["agency"] = capacity.AgencyCode
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "signing.credential.enrol", SubjectType: "account", SubjectID: accountID, Details: details})
		return err
	})
	if err != nil {
		return Credential{}, s.withdraw(ctx, cert, kernel.Wrap(err, "signing: enrol"))
	}
	return c, nil
}

var oidTitle = asn1.ObjectIdentifier{2, 5, 4, 12}

// capacityOf reads the capacity from the certificate's subject (title and
// organisation), which is what relying parties see; the post the directory
// gave fills what the subject lacks.
func capacityOf(cert *x509.Certificate, post Capacity) Capacity {
	c := post
	if len(cert.Subject.Organization) > 0 && cert.Subject.Organization[0] != "" {
		c.AgencyName = cert.Subject.Organization[0]
	}
	for _, n := range cert.Subject.Names {
		if v, ok := n.Value.(string); ok && n.Type.Equal(oidTitle) && v != "" {
			c.Title = v
		}
	}
	return c
}

// personalCredential is the holder's own active credential (not an
// official's): what applications and uploads use unless they name one.
func (s *Service) personalCredential(ctx context.Context, accountID string) (Credential, error) {
	creds, err := s.Credentials(ctx, accountID)
	if err != nil {
		return Credential{}, err
	}
	for _, c := range creds {
		if c.Status == CredentialActive && !c.Capacity.Official() {
			return c, nil
		}
	}
	return Credential{}, kernel.E(kernel.Forbidden, "signing.error.credential_inactive")
}
