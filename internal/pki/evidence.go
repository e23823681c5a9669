package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/kernel"
)

// Evidence gives, for each certificate of chain but the root, this CA's
// revocation evidence as of now: the OCSP response of its issuer's
// responder (end entities of the issuing CAs) and the issuer's CRL. It is
// what a long-term signature (PAdES B-LT) embeds, so that the signature can
// be checked years later without asking anyone.
func (s *Service) Evidence(ctx context.Context, chain []*x509.Certificate) (ocsps, crls [][]byte, err error) {
	on := s.online.Load()
	if on == nil {
		if err := s.StartOnline(ctx); err != nil {
			return nil, nil, err
		}
		on = s.online.Load()
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], s.issuerOf(chain[i])
		if issuer == nil {
			continue // not ours: nothing to say about it
		}
		if r := on.responders[issuer.Name]; r != nil {
			req, err := xocsp.CreateRequest(cert, issuer.Cert, &xocsp.RequestOptions{Hash: crypto.SHA256})
			if err != nil {
				return nil, nil, kernel.Wrap(err, "pki: evidence")
			}
			parsed, err := xocsp.ParseRequest(req)
			if err != nil {
				return nil, nil, kernel.Wrap(err, "pki: evidence")
			}
			der, err := r.Response(ctx, parsed)
			if err != nil {
				return nil, nil, err
			}
			ocsps = append(ocsps, der)
		}
		if !seen[issuer.Name] {
			seen[issuer.Name] = true
			crl, err := s.CRL(ctx, issuer.Name)
			if err != nil {
				return nil, nil, err
			}
			crls = append(crls, crl)
		}
	}
	return ocsps, crls, nil
}

// issuerOf finds the CA of the hierarchy that issued cert, or nil.
func (s *Service) issuerOf(cert *x509.Certificate) *CA {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ca := range s.cas {
		if ca.Cert.IsCA && bytes.Equal(ca.Cert.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(ca.Cert) == nil {
			return ca
		}
	}
	return nil
}

// Seal returns an agency's seal key and its certificate chain (seal first,
// root last), issuing the seal on first use. Only operator commands and
// the agency's own automated issuance call it.
func (s *Service) Seal(ctx context.Context, agencyCode string) (crypto.Signer, []*x509.Certificate, error) {
	var serial string
	err := s.o.DB.QueryRow(ctx, `SELECT serial FROM pki_certs WHERE account_id = ? AND kind = 'seal' AND revoked_at = 0 AND not_after > ?
		ORDER BY created_at DESC LIMIT 1`, SealOwner(agencyCode), kernel.Micros(s.o.Clock.Now())).Scan(&serial)
	var sn *big.Int
	switch {
	case errNoRows(err):
		issued, err := s.IssueSeal(ctx, agencyCode)
		if err != nil {
			return nil, nil, err
		}
		sn = issued.Cert.SerialNumber
	case err != nil:
		return nil, nil, kernel.Wrap(err, "pki: seal")
	default:
		var ok bool
		if sn, ok = new(big.Int).SetString(serial, 16); !ok {
			return nil, nil, kernel.Wrap(errors.New("bad serial in store"), "pki: seal")
		}
	}
	signer, _, err := s.HolderSigner(ctx, sn)
	if err != nil {
		return nil, nil, err
	}
	chain, err := s.Chain(ctx, sn)
	if err != nil {
		return nil, nil, err
	}
	return signer, chain, nil
}

// TSAChain is the time-stamping unit's certificate and the CAs above it,
// for the DSS of long-term signatures.
func (s *Service) TSAChain() ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for name := TSA; len(chain) < 5; {
		ca, err := s.CA(name)
		if err != nil {
			return nil, err
		}
		chain = append(chain, ca.Cert)
		if ca.Issuer == ca.Name {
			break
		}
		name = ca.Issuer
	}
	return chain, nil
}

// SealCertificate is an agency seal's certificate, as the wallet's issuer
// metadata publishes its key.
type SealCertificate struct {
	Agency string
	Cert   *x509.Certificate
}

// Seals lists the agency seals in use at now: not revoked, not expired,
// oldest first.
func (s *Service) Seals(ctx context.Context) ([]SealCertificate, error) {
	rows, err := s.o.DB.Query(ctx, `SELECT account_id, cert FROM pki_certs WHERE kind = 'seal' AND revoked_at = 0 AND not_after > ?
		ORDER BY created_at, serial`, kernel.Micros(s.o.Clock.Now()))
	if err != nil {
		return nil, kernel.Wrap(err, "pki: seals")
	}
	defer rows.Close()
	var out []SealCertificate
	for rows.Next() {
		var owner, stored string
		if err := rows.Scan(&owner, &stored); err != nil {
			return nil, kernel.Wrap(err, "pki: seals")
		}
		cert, err := parseStored(stored)
		if err != nil {
			return nil, kernel.Wrap(err, "pki: seals")
		}
		out = append(out, SealCertificate{Agency: strings.TrimPrefix(owner, "agency:"), Cert: cert})
	}
	return out, kernel.Wrap(rows.Err(), "pki: seals")
}
