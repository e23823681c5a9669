package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Fetcher gets revocation evidence for certificates of other hierarchies
// (those of imported trust anchors) over HTTP, from the OCSP responders and
// CRL distribution points the certificates name: OCSP first, the CRL when
// no responder answers. Validation asks it only for chains that already
// verified to a trusted root, so the addresses it calls are ones a trusted
// CA wrote. Evidence that does not verify against the issuer is dropped.
type Fetcher struct {
	Client   *http.Client // default: 10 s timeout, no redirects
	MaxBytes int64        // largest answer read; default 10 MiB (a CRL can be big)
}

// NewFetcher returns a Fetcher with the defaults.
func NewFetcher() *Fetcher {
	return &Fetcher{Client: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Evidence returns what the responders and distribution points of each
// certificate of chain (subject first, its issuers after) say about it. A
// source that does not answer, or answers something that does not verify,
// adds nothing: the status stays unknown, which is the validator's call.
func (f *Fetcher) Evidence(ctx context.Context, chain []*x509.Certificate) (ocsps, crls [][]byte, err error) {
	for i := 0; i+1 < len(chain); i++ {
		if err := ctx.Err(); err != nil {
			return ocsps, crls, err
		}
		cert, issuer := chain[i], chain[i+1]
		if der := f.ocsp(ctx, cert, issuer); der != nil {
			ocsps = append(ocsps, der)
			continue
		}
		if der := f.crl(ctx, cert, issuer); der != nil {
			crls = append(crls, der)
		}
	}
	return ocsps, crls, nil
}

func (f *Fetcher) ocsp(ctx context.Context, cert, issuer *x509.Certificate) []byte {
	req, err := xocsp.CreateRequest(cert, issuer, &xocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return nil
	}
	for _, u := range cert.OCSPServer {
		body, err := f.fetch(ctx, http.MethodPost, u, req)
		if err != nil {
			continue
		}
		r, err := xocsp.ParseResponseForCert(body, cert, issuer)
		if err != nil || r.Status == xocsp.ServerFailed {
			continue
		}
		return body
	}
	return nil
}

func (f *Fetcher) crl(ctx context.Context, cert, issuer *x509.Certificate) []byte {
	for _, u := range cert.CRLDistributionPoints {
		body, err := f.fetch(ctx, http.MethodGet, u, nil)
		if err != nil {
			continue
		}
		l, err := x509.ParseRevocationList(body)
		if err != nil || l.CheckSignatureFrom(issuer) != nil {
			continue
		}
		return body
	}
	return nil
}

var errFetch = errors.New("pki: fetch")

// fetch calls an http or https URL and returns a 200 answer's body, up to
// MaxBytes.
func (f *Fetcher) fetch(ctx context.Context, method, raw string, body []byte) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errFetch
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, errFetch
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	c := f.Client
	if c == nil {
		c = NewFetcher().Client
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, errFetch
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errFetch
	}
	limit := f.MaxBytes
	if limit <= 0 {
		limit = 10 << 20
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil || int64(len(b)) > limit {
		return nil, errFetch
	}
	return b, nil
}

// Sources asks each source in turn and returns the first evidence found:
// this province's trust services first (which know nothing of other
// hierarchies), then a Fetcher for the rest.
type Sources []interface {
	Evidence(ctx context.Context, chain []*x509.Certificate) (ocsps, crls [][]byte, err error)
}

// Evidence implements pades.Revocation.
func (s Sources) Evidence(ctx context.Context, chain []*x509.Certificate) (ocsps, crls [][]byte, err error) {
	for _, src := range s {
		if ocsps, crls, err = src.Evidence(ctx, chain); err != nil || len(ocsps)+len(crls) > 0 {
			return ocsps, crls, err
		}
	}
	return nil, nil, nil
}
