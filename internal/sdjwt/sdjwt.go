package sdjwt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"civitas/internal/jose"
)

// Header types and the one digest algorithm.
const (
	// TypVC is the typ of an SD-JWT VC's Issuer-signed JWT.
	TypVC = "dc+sd-jwt"
	// TypKB is the typ of a Key Binding JWT.
	TypKB = "kb+jwt"
	// HashAlg is the only _sd_alg issued and accepted: RFC 9901 requires
	// every implementation to support it, and a second one would only add
	// an algorithm-confusion surface.
	HashAlg = "sha-256"
)

// Default limits on what Parse and Verify read. A credential's claims live in
// its Disclosures, outside the Issuer-signed JWT (itself capped at
// jose.MaxTokenSize), so the whole serialisation may be larger than a JWT:
// 256 KiB leaves room for a photo as a data URI while keeping the cost of
// hostile input small.
const (
	DefaultMaxSize        = 256 << 10
	DefaultMaxDisclosures = 512
	// maxDepth bounds the nesting of objects and arrays that processing
	// walks, so hostile JSON cannot make it recurse deeply.
	maxDepth = 32
)

// ErrInvalid is the error of every malformed, unverifiable or unacceptable
// credential or presentation; its text is safe to show to the party that
// sent it.
var ErrInvalid = errors.New("sdjwt: invalid credential")

func invalid(why string) error { return fmt.Errorf("%w: %s", ErrInvalid, why) }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// plainClaims may never be selectively disclosable in an SD-JWT VC (draft
// §2.2.2.3): they control validity, type, key binding and status, and a
// holder must not be able to drop them from a presentation.
var plainClaims = map[string]bool{
	"iss": true, "nbf": true, "exp": true, "cnf": true, "vct": true,
	"vct#integrity": true, "aka_vcts": true, "status": true,
}

var b64 = base64.RawURLEncoding

// Limits bound what Parse and Verify read; zero fields take the defaults.
type Limits struct {
	MaxSize        int // bytes of the whole serialisation
	MaxDisclosures int
}

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	if l.MaxDisclosures <= 0 {
		l.MaxDisclosures = DefaultMaxDisclosures
	}
	return l
}

// parts is a compact SD-JWT or SD-JWT+KB split at its tildes.
type parts struct {
	issuerJWT   string
	disclosures []string
	kb          string // "" for an SD-JWT without key binding
	presented   string // issuer JWT and disclosures, each followed by "~": what sd_hash covers
}

func split(token string, lim Limits) (parts, error) {
	if len(token) > lim.MaxSize {
		return parts{}, invalid("too large")
	}
	first := strings.IndexByte(token, '~')
	if first < 0 {
		return parts{}, invalid("not an SD-JWT")
	}
	last := strings.LastIndexByte(token, '~')
	p := parts{issuerJWT: token[:first], kb: token[last+1:], presented: token[:last+1]}
	if first == last {
		return p, nil
	}
	middle := token[first+1 : last]
	// Count before splitting so that a flood of tildes allocates nothing.
	if strings.Count(middle, "~")+1 > lim.MaxDisclosures {
		return parts{}, invalid("too many disclosures")
	}
	p.disclosures = strings.Split(middle, "~")
	for _, d := range p.disclosures {
		if d == "" {
			return parts{}, invalid("empty disclosure")
		}
	}
	return p, nil
}

// disclosure is one decoded Disclosure and, once processed, where it sits.
type disclosure struct {
	raw     string
	digest  string
	name    string
	hasName bool // an object property; otherwise an array element
	value   any
	path    []string
	parent  int // index of the disclosure whose value references it; -1 for the payload
	used    bool
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

func decodeDisclosure(raw string) (disclosure, error) {
	b, err := b64.DecodeString(raw)
	if err != nil {
		return disclosure{}, invalid("bad disclosure encoding")
	}
	v, err := parseJSON(b)
	if err == errNestedTooDeeply {
		return disclosure{}, err
	}
	arr, ok := v.([]any)
	if err != nil || !ok {
		return disclosure{}, invalid("disclosure is not a JSON array")
	}
	d := disclosure{raw: raw, digest: digestOf(raw), parent: -1}
	switch len(arr) {
	case 2:
		d.value = arr[1]
	case 3:
		name, ok := arr[1].(string)
		if !ok {
			return disclosure{}, invalid("disclosure claim name is not a string")
		}
		if name == "_sd" || name == "..." {
			return disclosure{}, invalid("disclosure uses a reserved claim name")
		}
		d.name, d.hasName, d.value = name, true, arr[2]
	default:
		return disclosure{}, invalid("disclosure is not [salt, name, value] or [salt, value]")
	}
	if _, ok := arr[0].(string); !ok {
		return disclosure{}, invalid("disclosure salt is not a string")
	}
	return d, nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers as json.Number
// so that claim values pass through unchanged (no float64 rounding).
func decodeJSON(b []byte, v any) error {
	if tooDeep(b, maxDepth+2) {
		return errNestedTooDeeply
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

var errNestedTooDeeply = invalid("nested too deeply")

// tooDeep reports whether JSON text nests arrays and objects deeper than
// max. It scans bytes only: encoding/json builds every level before it can
// refuse, which costs about a microsecond per byte of "[[[[...".
func tooDeep(b []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > max {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

func decodeDisclosures(raws []string) ([]disclosure, error) {
	ds := make([]disclosure, len(raws))
	for i, raw := range raws {
		d, err := decodeDisclosure(raw)
		if err != nil {
			return nil, err
		}
		ds[i] = d
	}
	return ds, nil
}

// processor applies Disclosures to an Issuer-signed payload (RFC 9901 §7.1
// step 3), in place: the payload is a fresh decode that nobody else holds.
type processor struct {
	discs    []disclosure
	byDigest map[string]int
	seen     map[string]struct{} // every digest met, to refuse a second occurrence
	used     int
}

// process turns payload into the Processed SD-JWT Payload, recording in
// each disclosure its path and parent. Every disclosure must be referenced
// exactly once; a digest must not occur twice.
func process(payload map[string]any, discs []disclosure) error {
	if v, ok := payload["_sd_alg"]; ok {
		if s, _ := v.(string); s != HashAlg {
			return invalid("unsupported _sd_alg")
		}
		delete(payload, "_sd_alg")
	}
	p := processor{discs: discs, byDigest: make(map[string]int, len(discs))}
	for i := range discs {
		if _, dup := p.byDigest[discs[i].digest]; dup {
			return invalid("disclosure sent twice")
		}
		p.byDigest[discs[i].digest] = i
	}
	p.seen = make(map[string]struct{}, len(discs)+8)
	path := make([]string, 0, 8)
	if err := p.object(payload, path, -1, 0); err != nil {
		return err
	}
	if p.used != len(discs) {
		return invalid("disclosure not referenced by the issuer-signed payload")
	}
	return nil
}

// protected reports whether path lies inside a claim SD-JWT VC keeps plain:
// digests there would let a holder drop, say, the status_list reference
// while keeping the status claim.
func protected(path []string) bool { return len(path) > 0 && plainClaims[path[0]] }

func (p *processor) see(digest string) error {
	if _, dup := p.seen[digest]; dup {
		return invalid("digest occurs twice")
	}
	p.seen[digest] = struct{}{}
	return nil
}

// value processes v in place where it can and returns what replaces it.
// path is a stack shared along the walk: whatever keeps a path clones it.
func (p *processor) value(v any, path []string, parent, depth int) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		return t, p.object(t, path, parent, depth)
	case []any:
		return p.array(t, path, parent, depth)
	}
	return v, nil
}

func (p *processor) object(obj map[string]any, path []string, parent, depth int) error {
	if depth > maxDepth {
		return invalid("nested too deeply")
	}
	if _, ok := obj["..."]; ok {
		return invalid(`"..." outside an array element`)
	}
	if _, ok := obj["_sd_alg"]; ok {
		return invalid("_sd_alg below the top level")
	}
	var digests []any
	if v, ok := obj["_sd"]; ok {
		if protected(path) {
			return invalidf("claim %q must not be selectively disclosable", path[0])
		}
		arr, ok := v.([]any)
		if !ok {
			return invalid("_sd is not an array")
		}
		digests = arr
		delete(obj, "_sd")
	}
	// Plain members first, so that a disclosed name can be checked against
	// them and their own nested digests are found.
	for k, v := range obj {
		nv, err := p.value(v, append(path, k), parent, depth+1)
		if err != nil {
			return err
		}
		obj[k] = nv
	}
	for _, dv := range digests {
		digest, ok := dv.(string)
		if !ok {
			return invalid("_sd holds a non-string")
		}
		if err := p.see(digest); err != nil {
			return err
		}
		i, ok := p.byDigest[digest]
		if !ok {
			continue // a decoy, or a claim the holder did not disclose
		}
		d := &p.discs[i]
		if !d.hasName {
			return invalid("array element disclosure referenced from _sd")
		}
		if _, exists := obj[d.name]; exists {
			return invalidf("disclosure redefines claim %q", d.name)
		}
		if depth == 0 && plainClaims[d.name] {
			return invalidf("claim %q must not be selectively disclosable", d.name)
		}
		d.used, d.parent = true, parent
		p.used++
		d.path = slices.Clone(append(path, d.name))
		nv, err := p.value(d.value, append(path, d.name), i, depth+1)
		if err != nil {
			return err
		}
		obj[d.name] = nv
	}
	return nil
}

func (p *processor) array(arr []any, path []string, parent, depth int) ([]any, error) {
	if depth > maxDepth {
		return nil, invalid("nested too deeply")
	}
	out := arr[:0] // filtered in place: element j is written only after it was read
	for i, e := range arr {
		if m, ok := e.(map[string]any); ok {
			if dv, ok := m["..."]; ok {
				digest, ok := dv.(string)
				if !ok || len(m) != 1 {
					return nil, invalid(`malformed "..." array element`)
				}
				if protected(path) {
					return nil, invalidf("claim %q must not be selectively disclosable", path[0])
				}
				if err := p.see(digest); err != nil {
					return nil, err
				}
				j, ok := p.byDigest[digest]
				if !ok {
					continue // undisclosed elements are dropped (RFC 9901 §7.1 step 3.4)
				}
				d := &p.discs[j]
				if d.hasName {
					return nil, invalid("object property disclosure referenced from an array")
				}
				d.used, d.parent = true, parent
				p.used++
				d.path = slices.Clone(append(path, strconv.Itoa(i)))
				nv, err := p.value(d.value, append(path, strconv.Itoa(i)), j, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, nv)
				continue
			}
		}
		nv, err := p.value(e, append(path, strconv.Itoa(i)), parent, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, nv)
	}
	return out, nil
}

// decodePayload decodes the Issuer-signed JWT's payload as a JSON object.
func decodePayload(b []byte) (map[string]any, error) {
	v, err := parseJSON(b)
	if err == errNestedTooDeeply {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, invalid("payload is not a JSON object")
	}
	return m, nil
}

// SDJWT is a parsed credential as the holder keeps it: the Issuer-signed JWT
// and all its Disclosures, linked to the claims they reveal. Parse checks
// form only; the holder verifies a credential it receives with Verify.
type SDJWT struct {
	issuerJWT   string
	disclosures []disclosure
	kb          string
	claims      map[string]any
	holder      *jose.JWK
}

// Parse reads a compact SD-JWT (or SD-JWT+KB) with the default Limits: it
// splits it, decodes the Issuer-signed JWT and every Disclosure, and links
// each Disclosure to the digest that references it. It verifies no
// signature.
func Parse(token string) (*SDJWT, error) {
	p, err := split(token, Limits{}.withDefaults())
	if err != nil {
		return nil, err
	}
	jws, err := jose.Parse(p.issuerJWT)
	if err != nil {
		return nil, invalid("issuer-signed JWT is malformed")
	}
	payload, err := decodePayload(jws.Payload)
	if err != nil {
		return nil, err
	}
	discs, err := decodeDisclosures(p.disclosures)
	if err != nil {
		return nil, err
	}
	if err := process(payload, discs); err != nil {
		return nil, err
	}
	s := &SDJWT{issuerJWT: p.issuerJWT, disclosures: discs, kb: p.kb, claims: payload}
	if cnf, ok := payload["cnf"].(map[string]any); ok {
		if j, ok := jwkFrom(cnf["jwk"]); ok {
			s.holder = &j
		}
	}
	return s, nil
}

// Claims returns the credential's claims with every Disclosure applied. The
// map belongs to s: read it, do not change it.
func (s *SDJWT) Claims() map[string]any { return s.claims }

// Disclosable returns the path of every selectively disclosable claim, in
// the order of the Disclosures. A path names object members by name and
// array elements by their decimal index in the issued array.
func (s *SDJWT) Disclosable() [][]string {
	out := make([][]string, len(s.disclosures))
	for i, d := range s.disclosures {
		out[i] = slices.Clone(d.path)
	}
	return out
}

// jwkFrom reads a public JWK from a decoded JSON object without a second
// round of JSON.
func jwkFrom(v any) (jose.JWK, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return jose.JWK{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	j := jose.JWK{Kty: str("kty"), Kid: str("kid"), Alg: str("alg"), Crv: str("crv"),
		X: str("x"), Y: str("y"), N: str("n"), E: str("e")}
	return j, j.Kty != ""
}

// numericDate reads a JWT NumericDate (seconds, possibly fractional).
func numericDate(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f < -1e15 || f > 1e15 {
		return 0, false
	}
	return int64(f), true
}
