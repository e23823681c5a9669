package pkitest

import (
	"crypto/x509"
	"encoding/asn1"
	"testing"
	"time"

	"civitas/internal/pki/tsa"
)

// Hierarchy is a province's PKI in small, shaped as civitas makes its own:
// a root; a citizens' CA that certifies signers and delegates its OCSP
// answers; an officials' CA that certifies the TSA; the root's CRL over the
// two CAs.
type Hierarchy struct {
	Root      Party
	Citizens  Party
	Officials Party
	Signer    Party  // a citizen, under Citizens
	TSA       Party  // the time-stamping unit, under Officials
	OCSP      Party  // Citizens' delegated OCSP responder
	CRL       []byte // the root's, revoking nothing
}

// Options change what NewHierarchy makes.
type Options struct {
	CA     []Option // for the root's and the two CAs' certificates
	Signer []Option // for the signer's certificate (its key: WithKey)
	TSA    []Option // for the TSA's certificate
}

// NewHierarchy makes a hierarchy.
func NewHierarchy(t testing.TB, o Options) *Hierarchy {
	t.Helper()
	h := &Hierarchy{Root: NewRoot(t, "Civitas Test Root", o.CA...)}
	h.Citizens = h.Root.CA(t, "Civitas Citizens CA", o.CA...)
	h.Officials = h.Root.CA(t, "Civitas Officials CA", o.CA...)
	h.Signer = h.Citizens.Signer(t, "Nguyễn Thị Ánh", o.Signer...)
	h.TSA = h.Officials.TSA(t, "Civitas TSA", o.TSA...)
	h.OCSP = h.Citizens.OCSPSigner(t, "Civitas Citizens OCSP")
	h.CRL = h.Root.CRL(t)
	return h
}

// Roots is a pool of the root alone: what a relying party trusts.
func (h *Hierarchy) Roots() *x509.CertPool { return Pool(h.Root.Cert) }

// Chain is what a signer under Citizens sends with its certificate: the
// citizens' CA, then the root.
func (h *Hierarchy) Chain() []*x509.Certificate {
	return []*x509.Certificate{h.Citizens.Cert, h.Root.Cert}
}

// TSAChain is the TSA's certificate and the CAs above it, for a signer to
// embed with a time-stamp.
func (h *Hierarchy) TSAChain() []*x509.Certificate {
	return []*x509.Certificate{h.TSA.Cert, h.Officials.Cert, h.Root.Cert}
}

// TSAPolicy is the policy the hierarchy's TSA writes in its tokens (an
// arc of the private enterprise numbers no one is given).
var TSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3}

// TSAOptions are the options of civitas's TSA over the hierarchy's
// time-stamping unit: its key and certificate, the officials' CA as its
// chain, TSAPolicy, an accuracy of a second.
func (h *Hierarchy) TSAOptions() tsa.Options {
	return tsa.Options{Signer: h.TSA.Key, Certificate: h.TSA.Cert, Chain: []*x509.Certificate{h.Officials.Cert},
		Policy: TSAPolicy, Accuracy: time.Second}
}

// Authority is civitas's TSA over the hierarchy's time-stamping unit, with
// TSAOptions changed by edit.
func (h *Hierarchy) Authority(t testing.TB, edit ...func(*tsa.Options)) *tsa.Authority {
	t.Helper()
	o := h.TSAOptions()
	for _, e := range edit {
		e(&o)
	}
	a, err := tsa.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
