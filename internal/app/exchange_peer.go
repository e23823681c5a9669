package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/exchange"
	"civitas/internal/kernel"
	"civitas/internal/pki"
)

// peerCertValidity is the life of the peer listener's certificate. It is
// short on purpose: its key lives only in this process's memory and is
// never stored, the exchange renews the certificate at half its life, and
// a certificate that expires within days needs no revocation.
const peerCertValidity = 7 * 24 * time.Hour

// peerCerts certifies the peer listener (and the client side of calls to
// peers) under the officials' and organisations' CA: a fresh P-256 key per
// certificate, serverAuth and clientAuth, the hosts as names. Each
// issuance is audited.
//
// It signs with the CA's key through pki.CA, here rather than in pki,
// because pki has no TLS profile yet; when it grows one this adapter calls
// it instead.
type peerCerts struct {
	ca    *pki.Service
	d     *db.DB
	clock kernel.Clock
}

var _ exchange.PeerCerts = (*peerCerts)(nil)

func (p *peerCerts) PeerCertificate(ctx context.Context, hosts []string) (tls.Certificate, error) {
	issuer, err := p.ca.CA(pki.Officials)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, kernel.Wrap(err, "app: peer key")
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, kernel.Wrap(err, "app: peer serial")
	}
	now := p.clock.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject: pkix.Name{Country: []string{"VN"}, Organization: issuer.Cert.Subject.Organization,
			OrganizationalUnit: []string{"civitas data exchange"}, CommonName: "civitas peer " + strings.Join(hosts, " ")},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(peerCertValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.Cert, key.Public(), issuer.Signer)
	if err != nil {
		return tls.Certificate{}, kernel.Wrap(err, "app: certify peer key")
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, kernel.Wrap(err, "app: certify peer key")
	}
	actx := kernel.WithActor(ctx, kernel.System("exchange.peer"))
	err = p.d.Update(actx, now, func(tx *db.Tx) error {
		_, err := audit.Append(actx, tx, audit.Entry{Action: "exchange.peer_certificate", SubjectType: "certificate",
			SubjectID: strings.ToLower(leaf.SerialNumber.Text(16)), Details: map[string]any{"hosts": hosts, "not_after": leaf.NotAfter}})
		return err
	})
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, issuer.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}
