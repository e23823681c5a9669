package statuslist

import (
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// The type of a Status List Token: the JWT "typ" header and the media type
// it is served as.
const (
	TokenType = "statuslist+jwt"
	MediaType = "application/statuslist+jwt"
)

// Token is what a Status List Token says.
type Token struct {
	URI      string        // "sub": where the token is served, the "uri" Referenced Tokens name
	Issuer   string        // "iss", optional
	IssuedAt time.Time     // "iat"
	Expiry   time.Time     // "exp"; zero for none
	TTL      time.Duration // "ttl": how long a relying party may cache it; zero for none
	List     *List         // "status_list"
}

// Signer signs Status List Tokens.
type Signer struct {
	Key crypto.Signer
	Kid string // "kid" header, optional
	// Issuer is the "iss" claim a Store puts in the tokens it signs with
	// this signer; empty leaves it out.
	Issuer string
	// Header holds further protected header members, such as "x5c".
	Header map[string]any
}

// claims is the JWT claims set of a Status List Token.
type claims struct {
	Issuer     string          `json:"iss,omitempty"`
	Subject    string          `json:"sub"`
	IssuedAt   int64           `json:"iat"`
	Expiry     int64           `json:"exp,omitempty"`
	TTL        int64           `json:"ttl,omitempty"`
	StatusList *statusListJSON `json:"status_list"`
}

// statusListJSON is the draft's StatusList object.
type statusListJSON struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// Sign returns t as a Status List Token signed by s, with the algorithm
// jose.AlgFor chooses for its key.
func Sign(s Signer, t Token) ([]byte, error) {
	if s.Key == nil || t.URI == "" || t.List == nil || t.IssuedAt.IsZero() ||
		(!t.Expiry.IsZero() && !t.Expiry.After(t.IssuedAt)) || t.TTL < 0 {
		return nil, kernel.E(kernel.Invalid, "statuslist.error.options")
	}
	alg, err := jose.AlgFor(s.Key.Public())
	if err != nil {
		return nil, kernel.Wrap(err, "statuslist: sign")
	}
	lst, err := t.List.Encode()
	if err != nil {
		return nil, err
	}
	c := claims{Issuer: t.Issuer, Subject: t.URI, IssuedAt: t.IssuedAt.Unix(),
		StatusList: &statusListJSON{Bits: t.List.Bits(), Lst: lst}}
	if !t.Expiry.IsZero() {
		c.Expiry = t.Expiry.Unix()
	}
	if t.TTL > 0 {
		c.TTL = int64((t.TTL + time.Second - 1) / time.Second) // the claim is whole seconds and positive
	}
	tok, err := jose.SignJSON(s.Key, jose.Header{Alg: alg, Typ: TokenType, Kid: s.Kid, Extra: s.Header}, c)
	if err != nil {
		return nil, kernel.Wrap(err, "statuslist: sign")
	}
	return []byte(tok), nil
}

// Expect is what Verify requires of a Status List Token.
type Expect struct {
	// URI is the "uri" of the Referenced Token's status_list claim: the
	// token's "sub" must equal it.
	URI string
	// Key is the Status Issuer's public key, chosen by the caller, never
	// taken from the token.
	Key crypto.PublicKey
	// Algs lists the algorithms allowed; empty allows the one jose.AlgFor
	// gives for Key.
	Algs []string
	// Issuer, when set, must equal "iss".
	Issuer string
	// Now is the time of the check (the current time when zero); Leeway is
	// the clock skew allowed on exp and iat.
	Now    time.Time
	Leeway time.Duration
}

// Verify checks a Status List Token as a relying party must — its type, its
// signature by e.Key, its subject, issuer, issue time and expiry — and
// returns what it says with the list decoded.
func Verify(token []byte, e Expect) (*Token, error) {
	bad := kernel.E(kernel.Invalid, "statuslist.error.bad_token")
	if e.Key == nil || e.URI == "" {
		return nil, kernel.E(kernel.Invalid, "statuslist.error.options")
	}
	now := e.Now
	if now.IsZero() {
		now = time.Now()
	}
	j, err := jose.Parse(string(token))
	if err != nil {
		return nil, bad.WithCause(err)
	}
	// RFC 7515 §4.1.9: "application/" may be left out of typ, and media
	// types compare without regard to case.
	if typ := strings.ToLower(j.Header.Typ); typ != TokenType && typ != MediaType {
		return nil, bad.WithCause(fmt.Errorf("statuslist: typ %q", j.Header.Typ))
	}
	algs := e.Algs
	if len(algs) == 0 {
		alg, err := jose.AlgFor(e.Key)
		if err != nil {
			return nil, kernel.E(kernel.Invalid, "statuslist.error.options").WithCause(err)
		}
		algs = []string{alg}
	}
	if err := j.Verify(e.Key, algs...); err != nil {
		return nil, bad.WithCause(err)
	}
	reg, err := j.Claims()
	if err != nil {
		return nil, bad.WithCause(err)
	}
	var c struct {
		Subject    *string         `json:"sub"`
		TTL        *float64        `json:"ttl"`
		StatusList *statusListJSON `json:"status_list"`
	}
	dec := json.NewDecoder(bytes.NewReader(j.Payload))
	if err := dec.Decode(&c); err != nil {
		return nil, bad.WithCause(err)
	}
	switch {
	case c.Subject == nil || reg.IssuedAt == 0 || c.StatusList == nil:
		return nil, bad.WithCause(fmt.Errorf("statuslist: sub, iat and status_list are required"))
	case c.TTL != nil && !(*c.TTL > 0 && *c.TTL < math.MaxInt32):
		return nil, bad.WithCause(fmt.Errorf("statuslist: ttl must be a positive number"))
	case *c.Subject != e.URI:
		return nil, kernel.E(kernel.Invalid, "statuslist.error.wrong_subject")
	case reg.Expiry != 0 && now.Unix() > reg.Expiry+int64(e.Leeway/time.Second):
		return nil, kernel.E(kernel.Invalid, "statuslist.error.expired")
	}
	if err := reg.Validate(jose.Expect{Issuer: e.Issuer, Now: now, Leeway: e.Leeway}); err != nil {
		return nil, bad.WithCause(err)
	}
	l, err := Decode(c.StatusList.Bits, c.StatusList.Lst)
	if err != nil {
		return nil, err
	}
	t := &Token{URI: *c.Subject, Issuer: reg.Issuer, IssuedAt: time.Unix(reg.IssuedAt, 0).UTC(), List: l}
	if reg.Expiry != 0 {
		t.Expiry = time.Unix(reg.Expiry, 0).UTC()
	}
	if c.TTL != nil {
		t.TTL = time.Duration(*c.TTL * float64(time.Second))
	}
	return t, nil
}
