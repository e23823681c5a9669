package oidc

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"civitas/internal/web"
)

// Scope is a scope another capability adds to the provider, such as the
// wallet's credential scopes (OpenID4VCI §5.1.2): a wallet app asks for
// one to receive a copy of a document of that type.
type Scope struct {
	Name string
	// Consent says on the consent screen what granting the scope gives,
	// by language (vi, en, ar); Vietnamese stands in for a missing one.
	Consent map[string]string
	// OAuthOnly lets a request ask for it without openid: the client is an
	// OAuth client (a wallet app), not a relying party, and gets no ID token.
	OAuthOnly bool
}

// AddScopes makes more scopes known to the provider. It is called while
// the capabilities are built, before serving.
func (p *Provider) AddScopes(scopes ...Scope) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range scopes {
		if s.Name == "" || len(s.Name) > 128 || strings.ContainsAny(s.Name, " \t\r\n\"\\") || slices.Contains(knownScopes, s.Name) {
			return errors.New("oidc: add scopes: bad or known scope name " + s.Name)
		}
		for _, have := range p.scopes {
			if have.Name == s.Name {
				return errors.New("oidc: add scopes: scope added twice: " + s.Name)
			}
		}
		p.scopes = append(p.scopes, s)
	}
	return nil
}

// addedScope returns the added scope with that name, or nil.
func (p *Provider) addedScope(name string) *Scope {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.scopes {
		if p.scopes[i].Name == name {
			s := p.scopes[i]
			return &s
		}
	}
	return nil
}

// oauthOnly reports whether scopes hold an added scope that may be asked
// for without openid.
func (p *Provider) oauthOnly(scopes []string) bool {
	for _, s := range scopes {
		if sc := p.addedScope(s); sc != nil && sc.OAuthOnly {
			return true
		}
	}
	return false
}

func (s *Scope) consent(r *http.Request) string {
	if t := s.Consent[web.LangFrom(r.Context())]; t != "" {
		return t
	}
	if t := s.Consent["vi"]; t != "" {
		return t
	}
	return s.Name
}

// hasScope reports whether a space-separated scope string holds scope.
func hasScope(scopes, scope string) bool { return slices.Contains(strings.Fields(scopes), scope) }

// openID4VCIMetadata adds to the discovery document what wallets need: the
// pre-authorized code grant, which a wallet may redeem without client
// authentication (OpenID4VCI §12.2.4), and the added scopes.
func (p *Provider) openID4VCIMetadata(m map[string]any) {
	if grants, ok := m["grant_types_supported"].([]string); ok {
		m["grant_types_supported"] = append(slices.Clip(grants), PreAuthorizedCodeGrant)
	}
	m["pre-authorized_grant_anonymous_access_supported"] = true
	p.mu.Lock()
	defer p.mu.Unlock()
	if known, ok := m["scopes_supported"].([]string); ok && len(p.scopes) > 0 {
		all := slices.Clone(known)
		for _, s := range p.scopes {
			all = append(all, s.Name)
		}
		m["scopes_supported"] = all
	}
}
