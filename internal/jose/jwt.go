package jose

import (
	"encoding/json"
	"slices"
	"time"
)

// Claims are the registered JWT claims (RFC 7519 §4.1) that Validate checks.
// Other claims are read from the payload by the caller.
type Claims struct {
	Issuer    string   `json:"iss,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  Audience `json:"aud,omitempty"`
	Expiry    int64    `json:"exp,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	ID        string   `json:"jti,omitempty"`
}

// Audience is "aud": one string or an array of strings.
type Audience []string

// UnmarshalJSON accepts both forms.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return invalid("bad aud")
	}
	*a = many
	return nil
}

// MarshalJSON writes a single audience as a string.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// Expect says what Validate requires.
type Expect struct {
	Issuer   string // required when set
	Audience string // one of aud when set
	Now      time.Time
	Leeway   time.Duration // clock skew allowed on exp, nbf and iat
	// MaxAge, when set, requires iat and refuses tokens issued longer ago.
	MaxAge time.Duration
	// RequireExpiry refuses tokens without exp.
	RequireExpiry bool
}

// Validate checks the registered claims against e.
func (c Claims) Validate(e Expect) error {
	now := e.Now.Unix()
	lee := int64(e.Leeway / time.Second)
	switch {
	case e.Issuer != "" && c.Issuer != e.Issuer:
		return invalid("wrong issuer")
	case e.Audience != "" && !slices.Contains(c.Audience, e.Audience):
		return invalid("wrong audience")
	case e.RequireExpiry && c.Expiry == 0:
		return invalid("no expiry")
	case c.Expiry != 0 && now > c.Expiry+lee:
		return invalid("expired")
	case c.NotBefore != 0 && now+lee < c.NotBefore:
		return invalid("not yet valid")
	case c.IssuedAt != 0 && now+lee < c.IssuedAt:
		return invalid("issued in the future")
	case e.MaxAge > 0 && (c.IssuedAt == 0 || now-c.IssuedAt > int64(e.MaxAge/time.Second)+lee):
		return invalid("too old")
	}
	return nil
}

// Claims decodes the payload's registered claims.
func (j *JWS) Claims() (Claims, error) {
	var c Claims
	if err := json.Unmarshal(j.Payload, &c); err != nil {
		return Claims{}, invalid("payload is not a JWT claims set")
	}
	return c, nil
}
