package edoc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
)

// testDirectory is a province of three agencies and their staff.
type testDirectory struct {
	agencies map[string]Agency
	posts    map[string][]Post
}

func (d testDirectory) Agency(_ context.Context, code string) (Agency, error) {
	a, ok := d.agencies[code]
	if !ok {
		return Agency{}, kernel.E(kernel.NotFound, "error.registry.agency_not_found")
	}
	return a, nil
}

func (d testDirectory) Within(_ context.Context, unit, area string) (bool, error) {
	return unit == area || area == "T" || area == "H01" && unit == "X001", nil
}

func (d testDirectory) Members(_ context.Context, agency string) ([]Member, error) {
	var out []Member
	for acct, ps := range d.posts {
		for _, p := range ps {
			if p.Agency == agency {
				out = append(out, Member{AccountID: acct, Name: acct, Role: p.Role})
			}
		}
	}
	return out, nil
}

func (d testDirectory) Posts(_ context.Context, acct string) ([]Post, error) {
	return d.posts[acct], nil
}

var oidOrgID = asn1.ObjectIdentifier{2, 5, 4, 97}

// testSeals is a CA of the installation that certifies a seal per agency
// with the organisation identifier VN:GOV-CODE, as the PKI does.
type testSeals struct {
	mu     sync.Mutex
	root   *x509.Certificate
	rootK  *ecdsa.PrivateKey
	seals  map[string]*ecdsa.PrivateKey
	chains map[string][]*x509.Certificate
	inst   string
}

func newTestSeals(t testing.TB, inst string) *testSeals {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root " + inst},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	return &testSeals{root: root, rootK: k, seals: map[string]*ecdsa.PrivateKey{}, chains: map[string][]*x509.Certificate{}, inst: inst}
}

func (s *testSeals) Seal(_ context.Context, agency string) (crypto.Signer, []*x509.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.seals[agency]; ok {
		return k, s.chains[agency], nil
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: agency,
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidOrgID, Value: "VN:GOV-" + agency}}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour * 365), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.root, k.Public(), s.rootK)
	if err != nil {
		return nil, nil, err
	}
	c, _ := x509.ParseCertificate(der)
	s.seals[agency], s.chains[agency] = k, []*x509.Certificate{c, s.root}
	return k, s.chains[agency], nil
}

func (s *testSeals) Check(_ context.Context, inst string, chain []*x509.Certificate, at time.Time) (string, error) {
	if inst != s.inst {
		return "", kernel.E(kernel.Forbidden, "edoc.error.unknown_peer")
	}
	roots := x509.NewCertPool()
	roots.AddCert(s.root)
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return "", err
	}
	for _, n := range chain[0].Subject.Names {
		if v, ok := n.Value.(string); ok && n.Type.Equal(oidOrgID) {
			return strings.TrimPrefix(v, "VN:GOV-"), nil
		}
	}
	return "", kernel.E(kernel.Forbidden, "edoc.error.bad_signature")
}

// testSigner stands for the leader's credential: it appends a marker to
// each PDF, after checking the code.
type testSigner struct{ calls int }

func (s *testSigner) SignPDFs(_ context.Context, acct, agency, code string, docs []File) ([][]byte, error) {
	if code != "123456" {
		return nil, kernel.E(kernel.Forbidden, "signing.error.bad_code")
	}
	s.calls++
	out := make([][]byte, len(docs))
	for i, d := range docs {
		out[i] = append(bytes.Clone(d.Data), []byte("\n% signed by "+acct+"\n")...)
	}
	return out, nil
}

type env struct {
	t      testing.TB
	s      *Service
	d      *db.DB
	clock  *kernel.ManualClock
	seals  *testSeals
	signer *testSigner
}

const testInstallation = "https://civitas.test"

func newEnv(t testing.TB) *env {
	d := dbtest.Open(t)
	clock := kernel.NewManualClock(time.Now().Truncate(time.Second))
	dir := testDirectory{
		agencies: map[string]Agency{
			"H01.UBND":  {Code: "H01.UBND", Name: "UBND huyện Một", Unit: "H01"},
			"X001.UBND": {Code: "X001.UBND", Name: "UBND xã Một", Unit: "X001"},
			"T.STP":     {Code: "T.STP", Name: "Sở Tư pháp", Unit: "T"},
		},
		posts: map[string][]Post{
			"drafter": {{Agency: "X001.UBND", Role: "specialist"}},
			"leader":  {{Agency: "X001.UBND", Role: "chairman"}},
			"clerk":   {{Agency: "X001.UBND", Role: "records_clerk"}},
			"hclerk":  {{Agency: "H01.UBND", Role: "records_clerk"}},
			"hleader": {{Agency: "H01.UBND", Role: "chairman"}},
			"hstaff":  {{Agency: "H01.UBND", Role: "specialist"}},
			"other":   {{Agency: "T.STP", Role: "specialist"}},
		},
	}
	seals := newTestSeals(t, testInstallation)
	signer := &testSigner{}
	s, err := New(Options{DB: d, Clock: clock, Directory: dir, Seals: seals, Signer: signer, Installation: testInstallation})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, d: d, clock: clock, seals: seals, signer: signer}
}

func as(acct, agency string) context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOfficial, ID: acct, OnBehalfOf: "agency:" + agency})
}

func operator() context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "op"})
}

var testPDF = []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
