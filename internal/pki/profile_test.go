package pki_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"testing"

	"civitas/internal/pki"
)

// Every certificate profile names its key (Subject Key Identifier, RFC
// 5280 §4.2.1.2, by method 1 of RFC 7093) and every certificate but the
// self-signed root names its issuer's key (Authority Key Identifier), equal
// to the issuer's SKI: validators that build chains by key identifier find
// the issuer, and zlint's w_ext_subject_key_identifier_missing_sub_cert has
// nothing to say.
func TestProfilesKeyIdentifiers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, err := pki.New(ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock},
		Holders: people, Organisations: orgs{}})
	if err != nil {
		t.Fatal(err)
	}
	type profile struct {
		name   string
		cert   *x509.Certificate
		issuer string
	}
	var profiles []profile
	for _, name := range []string{pki.Root, pki.Citizens, pki.Officials, pki.TSA, pki.OCSPCitizens, pki.OCSPOfficials, pki.AuditSeal} {
		ca, err := s.CA(name)
		if err != nil {
			t.Fatal(err)
		}
		profiles = append(profiles, profile{name, ca.Cert, ca.Issuer})
	}
	citizen, err := s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	official, err := s.IssueOfficial(ctx, "001090000001", "UB-01")
	if err != nil {
		t.Fatal(err)
	}
	seal, err := s.IssueSeal(ctx, "UB-01")
	if err != nil {
		t.Fatal(err)
	}
	profiles = append(profiles, profile{"citizen", citizen.Cert, pki.Citizens}, profile{"official", official.Cert, pki.Officials},
		profile{"agency seal", seal.Cert, pki.Officials})
	for _, p := range profiles {
		issuer, err := s.CA(p.issuer)
		if err != nil {
			t.Fatal(err)
		}
		if want := ski(t, p.cert); !bytes.Equal(p.cert.SubjectKeyId, want) {
			t.Errorf("%s: SKI %x, want %x (RFC 7093 method 1)", p.name, p.cert.SubjectKeyId, want)
		}
		if p.name == pki.Root {
			continue // self-signed: its AKI may be left out (RFC 5280 §4.2.1.1)
		}
		if len(p.cert.AuthorityKeyId) == 0 || !bytes.Equal(p.cert.AuthorityKeyId, issuer.Cert.SubjectKeyId) {
			t.Errorf("%s: AKI %x, issuer %s's SKI %x", p.name, p.cert.AuthorityKeyId, p.issuer, issuer.Cert.SubjectKeyId)
		}
		if err := p.cert.CheckSignatureFrom(issuer.Cert); err != nil {
			t.Errorf("%s: not signed by %s: %v", p.name, p.issuer, err)
		}
		for _, ext := range p.cert.Extensions {
			if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 14}) && ext.Critical {
				t.Errorf("%s: SKI marked critical (RFC 5280 §4.2.1.2 forbids it)", p.name)
			}
		}
	}
}

// ski computes the expected key identifier independently of the code under
// test: SHA-256 of the subjectPublicKey bits, leftmost 160 bits.
func ski(t *testing.T, c *x509.Certificate) []byte {
	t.Helper()
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20]
}
