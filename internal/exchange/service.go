package exchange

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/web"
)

// Seals gives the exchange a provider agency's seal: its key and its
// certificate chain (seal first, root last), issued on first use. The
// trust services' adapter is in app.
type Seals interface {
	Seal(ctx context.Context, agencyCode string) (crypto.Signer, []*x509.Certificate, error)
}

// Stamper gets an RFC 3161 time-stamp token over a SHA-256 digest: the
// TSA that stamps the log's checkpoints.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte) ([]byte, error)
}

// PeerCerts gives this province's certificate for talking to peers: the
// peer listener's server certificate and the client certificate of its
// calls, under the officials' and organisations' CA, naming hosts.
type PeerCerts interface {
	PeerCertificate(ctx context.Context, hosts []string) (tls.Certificate, error)
}

// Options configure the exchange.
type Options struct {
	DB       *db.DB
	Clock    kernel.Clock
	Registry *registry.Service
	// Seals signs the receipts; nil: the service answers no query (the
	// command line needs none to grant and list).
	Seals Seals
	// Catalogue is the set of services; nil: DefaultServices.
	Catalogue *Catalogue
	// PublicURL is the province's public URL: the OpenAPI document's
	// server and the token endpoint, and where peers discover the peer
	// endpoint.
	PublicURL string
	// PeerAddr is the peer listener's address (serve --peer-addr); "" when
	// this installation takes no calls from peers.
	PeerAddr string
	// PeerCerts is this province's peer certificate; nil: no peers.
	PeerCerts PeerCerts
	// Web answers the peer listener's failures as the site does (RFC 9457
	// problems in the caller's language); Mount sets it.
	Web    *web.Server
	Logger *slog.Logger
}

// Service is the data exchange.
type Service struct {
	o   Options
	cat *Catalogue

	mu        sync.Mutex
	providers map[string]registry.Agency // by registry and kind
	names     map[string]string          // agency code -> name
	seals     map[string]cachedSeal
	grants    grantCache

	peerMu      sync.Mutex
	peerClients map[string]*peerClient // by peer name
	peerCert    *peerCert
	peerIDs     sync.Map // leaf fingerprint + peer fingerprint -> bool (verified chains)
	peerMux     *http.ServeMux
}

// cachedSeal is a provider's opened seal, kept briefly: signing a receipt
// per answer must not reopen the key each time. A seal revoked meanwhile
// signs for at most sealTTL more.
type cachedSeal struct {
	signer crypto.Signer
	alg    string
	kid    string
	x5c    []string
	// header is the receipts' protected header, encoded once: with the
	// x5c chain it is most of a receipt.
	header jose.EncodedHeader
	until  time.Time
}

const sealTTL = time.Minute

// New builds the exchange.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Registry == nil {
		return nil, errors.New("exchange: Options needs DB and Registry")
	}
	if o.Clock == nil {
		o.Clock = kernel.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	cat := o.Catalogue
	if cat == nil {
		var err error
		if cat, err = NewCatalogue(DefaultServices()); err != nil {
			return nil, err
		}
	}
	s := &Service{o: o, cat: cat, providers: map[string]registry.Agency{}, names: map[string]string{},
		seals: map[string]cachedSeal{}, peerClients: map[string]*peerClient{}}
	s.peerMux = http.NewServeMux()
	s.peerMux.HandleFunc("POST /peer/v1/exchange/query", s.peerQuery)
	return s, nil
}

// Catalogue returns the services.
func (s *Service) Catalogue() *Catalogue { return s.cat }

// Provider returns the agency that answers for a service: the owner of its
// registry in the catalogue of registries, or else the agency of the
// service's provider kind at the province level. Agencies and owners do
// not change while civitas runs, so the answer is kept.
func (s *Service) Provider(ctx context.Context, sp Spec) (registry.Agency, error) {
	key := sp.Registry + "/" + string(sp.Provider)
	s.mu.Lock()
	a, ok := s.providers[key]
	s.mu.Unlock()
	if ok {
		return a, nil
	}
	remember := func(a registry.Agency) (registry.Agency, error) {
		s.mu.Lock()
		s.providers[key] = a
		s.names[a.Code] = a.Name
		s.mu.Unlock()
		return a, nil
	}
	if sp.Registry != "" {
		a, err := s.o.Registry.RegistryOwner(ctx, sp.Registry)
		if err == nil {
			return remember(a)
		}
		if kernel.ErrorCode(err) != kernel.NotFound {
			return registry.Agency{}, err
		}
	}
	var after string
	for {
		as, err := s.o.Registry.ListAgencies(ctx, kernel.Page{After: after, Limit: kernel.MaxPageLimit})
		if err != nil {
			return registry.Agency{}, err
		}
		for _, ag := range as {
			if ag.Kind != sp.Provider {
				continue
			}
			u, err := s.o.Registry.Unit(ctx, ag.UnitCode)
			if err != nil {
				return registry.Agency{}, err
			}
			if u.Level == registry.Province {
				return remember(ag)
			}
		}
		if len(as) < kernel.MaxPageLimit {
			return registry.Agency{}, kernel.E(kernel.Unavailable, "exchange.error.no_provider")
		}
		after = as[len(as)-1].Code
	}
}

// agencyName returns an agency's name, or its code when the registry does
// not know it.
func (s *Service) agencyName(ctx context.Context, code string) string {
	if code == "" {
		return ""
	}
	s.mu.Lock()
	n, ok := s.names[code]
	s.mu.Unlock()
	if ok {
		return n
	}
	a, err := s.o.Registry.Agency(ctx, code)
	if err != nil {
		return code
	}
	s.mu.Lock()
	s.names[code] = a.Name
	s.mu.Unlock()
	return a.Name
}

// seal returns a provider's seal for receipts.
func (s *Service) seal(ctx context.Context, agency string) (cachedSeal, error) {
	if s.o.Seals == nil {
		return cachedSeal{}, kernel.E(kernel.Unavailable, "exchange.error.no_seals")
	}
	now := s.o.Clock.Now()
	s.mu.Lock()
	c, ok := s.seals[agency]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c, nil
	}
	signer, chain, err := s.o.Seals.Seal(ctx, agency)
	if err != nil {
		return cachedSeal{}, err
	}
	alg, err := jose.AlgFor(signer.Public())
	if err != nil {
		return cachedSeal{}, kernel.Wrap(err, "exchange: seal of %s", agency)
	}
	jwk, err := jose.PublicJWK(signer.Public())
	if err != nil {
		return cachedSeal{}, kernel.Wrap(err, "exchange: seal of %s", agency)
	}
	kid, err := jwk.Thumbprint()
	if err != nil {
		return cachedSeal{}, kernel.Wrap(err, "exchange: seal of %s", agency)
	}
	// x5c: the seal and the CAs above it, without the root, which the
	// relying party has (RFC 7515 §4.1.6 allows either).
	c = cachedSeal{signer: signer, alg: alg, kid: kid, until: now.Add(sealTTL)}
	for i, cert := range chain {
		if i > 0 && i == len(chain)-1 && isSelfSigned(cert) {
			break
		}
		c.x5c = append(c.x5c, base64.StdEncoding.EncodeToString(cert.Raw))
	}
	if c.header, err = jose.EncodeHeader(receiptHeader(c)); err != nil {
		return cachedSeal{}, kernel.Wrap(err, "exchange: seal of %s", agency)
	}
	s.mu.Lock()
	s.seals[agency] = c
	s.mu.Unlock()
	return c, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil
}
