package sdjwt

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/jose"
)

// Selective chooses which claims become selectively disclosable.
//
// Each path names a claim from the top: object members by name, array
// elements by decimal index or "*" for every element. Listing a claim and
// claims inside it nests the Disclosures (RFC 9901 §4.2.6): the inner claims
// get their own digests inside the outer claim's Disclosure. Listing only
// inner claims keeps the outer object plain with an "_sd" of its own.
//
// A nil Paths selects every top-level claim, sub included (a citizen ID is
// personal data); an empty, non-nil Paths selects none. The claims SD-JWT VC keeps plain (iss, nbf, exp, cnf, vct,
// vct#integrity, aka_vcts, status) can never be selected.
type Selective struct {
	Paths [][]string
}

// StatusRef points at a credential's entry in a Token Status List: the
// "status": {"status_list": {"idx", "uri"}} claim.
type StatusRef struct {
	Index int64  `json:"idx"`
	URI   string `json:"uri"`
}

// IssueOptions are the registered claims of an SD-JWT VC and how to hide the
// others. They are set here, not in the claims map, so that they are always
// plain and always well formed.
type IssueOptions struct {
	Issuer    string    // iss: required, the URL whose jwt-vc-issuer metadata lists the key
	VCT       string    // vct: required, the credential type
	IssuedAt  time.Time // iat: required
	Expiry    time.Time // exp: optional
	NotBefore time.Time // nbf: optional
	// Holder is the holder's public key, put in cnf.jwk for key binding;
	// nil issues a credential that cannot be bound to a holder.
	Holder crypto.PublicKey
	Status *StatusRef // status: optional
	// Decoys is the number of decoy digests added to every "_sd" array, so
	// that the number of digests tells less about the number of claims.
	Decoys int
	// Rand supplies salts and decoys; nil means crypto/rand.
	Rand io.Reader
}

// maxDecoys keeps a mistaken Decoys from producing a huge credential.
const maxDecoys = 64

// reservedClaims are set through IssueOptions or by the format itself.
var reservedClaims = map[string]bool{
	"iss": true, "iat": true, "nbf": true, "exp": true, "cnf": true, "vct": true, "status": true,
	"_sd": true, "_sd_alg": true, "...": true,
}

// Issue signs an SD-JWT VC: the Issuer-signed JWT with typ dc+sd-jwt (unless
// h.Typ says otherwise) followed by every Disclosure, each with a fresh
// 128-bit salt: "<issuer-signed JWT>~<disclosure>~...~". h.Alg defaults to
// the algorithm civitas uses with the signer's key. Digests in each "_sd"
// are sorted, so their order tells nothing about the claims' order.
func Issue(signer crypto.Signer, h jose.Header, claims map[string]any, sd Selective, opts IssueOptions) (string, error) {
	if opts.Issuer == "" || opts.VCT == "" || opts.IssuedAt.IsZero() {
		return "", errors.New("sdjwt: issue: Issuer, VCT and IssuedAt are required")
	}
	if opts.Decoys < 0 || opts.Decoys > maxDecoys {
		return "", fmt.Errorf("sdjwt: issue: Decoys must be between 0 and %d", maxDecoys)
	}
	for k, v := range claims {
		if reservedClaims[k] {
			return "", fmt.Errorf("sdjwt: issue: claim %q is set through IssueOptions or reserved", k)
		}
		if err := checkNames(v, 0); err != nil {
			return "", fmt.Errorf("sdjwt: issue: claim %q: %w", k, err)
		}
	}
	if h.Alg == "" {
		alg, err := jose.AlgFor(signer.Public())
		if err != nil {
			return "", fmt.Errorf("sdjwt: issue: %w", err)
		}
		h.Alg = alg
	}
	if h.Typ == "" {
		h.Typ = TypVC
	}
	root, err := selection(claims, sd)
	if err != nil {
		return "", err
	}
	is := issuer{rand: opts.Rand, decoys: opts.Decoys}
	if is.rand == nil {
		is.rand = rand.Reader
	}
	payload, err := is.object(claims, root, nil)
	if err != nil {
		return "", err
	}
	if is.digests > 0 {
		payload["_sd_alg"] = HashAlg
	}
	payload["iss"] = opts.Issuer
	payload["vct"] = opts.VCT
	payload["iat"] = opts.IssuedAt.Unix()
	if !opts.Expiry.IsZero() {
		payload["exp"] = opts.Expiry.Unix()
	}
	if !opts.NotBefore.IsZero() {
		payload["nbf"] = opts.NotBefore.Unix()
	}
	if opts.Holder != nil {
		jwk, err := jose.PublicJWK(opts.Holder)
		if err != nil {
			return "", fmt.Errorf("sdjwt: issue: holder key: %w", err)
		}
		payload["cnf"] = map[string]any{"jwk": jwk}
	}
	if opts.Status != nil {
		payload["status"] = map[string]any{"status_list": opts.Status}
	}
	jwt, err := jose.SignJSON(signer, h, payload)
	if err != nil {
		return "", fmt.Errorf("sdjwt: issue: %w", err)
	}
	var b strings.Builder
	n := len(jwt) + 1
	for _, d := range is.disclosures {
		n += len(d) + 1
	}
	b.Grow(n)
	b.WriteString(jwt)
	b.WriteByte('~')
	for _, d := range is.disclosures {
		b.WriteString(d)
		b.WriteByte('~')
	}
	return b.String(), nil
}

// checkNames refuses the names that mean digests to a verifier ("_sd",
// "...", "_sd_alg") anywhere inside a claim value, so registry data cannot
// be misread as SD-JWT structure. Values of other Go types are checked after
// they become JSON, by the verifier's rules.
func checkNames(v any, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if k == "_sd" || k == "..." || k == "_sd_alg" {
				return fmt.Errorf("member name %q is reserved", k)
			}
			if err := checkNames(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := checkNames(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// node is one step of the selection tree built from Selective.Paths.
type node struct {
	self     bool             // this claim gets a Disclosure
	children map[string]*node // by member name or array index
	each     *node            // "*": every array element
}

func (n *node) child(name string) *node {
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	c := n.children[name]
	if c == nil {
		c = &node{}
		n.children[name] = c
	}
	return c
}

func selection(claims map[string]any, sd Selective) (*node, error) {
	root := &node{}
	if sd.Paths == nil {
		for k := range claims {
			if !plainClaims[k] {
				root.child(k).self = true
			}
		}
		return root, nil
	}
	for _, p := range sd.Paths {
		if len(p) == 0 {
			return nil, errors.New("sdjwt: issue: empty selective path")
		}
		if plainClaims[p[0]] || reservedClaims[p[0]] {
			return nil, fmt.Errorf("sdjwt: issue: claim %q cannot be selectively disclosable", p[0])
		}
		n := root
		for _, step := range p {
			if step == "*" {
				if n.each == nil {
					n.each = &node{}
				}
				n = n.each
				continue
			}
			n = n.child(step)
		}
		n.self = true
	}
	return root, nil
}

// issuer builds the payload and collects the Disclosures.
type issuer struct {
	rand        io.Reader
	decoys      int
	disclosures []string
	digests     int
}

// conceal returns v with the claims that n selects inside it replaced by
// digests. Values that are not JSON objects or arrays are turned into JSON
// first when a path goes inside them.
func (is *issuer) conceal(v any, n *node, path []string) (any, error) {
	if n == nil || (n.children == nil && n.each == nil) {
		return v, nil
	}
	switch t := v.(type) {
	case map[string]any:
		return is.object(t, n, path)
	case []any:
		return is.array(t, n, path)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: issue: %s: %w", strings.Join(path, "."), err)
	}
	var generic any
	if err := decodeJSON(b, &generic); err != nil {
		return nil, fmt.Errorf("sdjwt: issue: %s: %w", strings.Join(path, "."), err)
	}
	switch generic.(type) {
	case map[string]any, []any:
		return is.conceal(generic, n, path)
	}
	return nil, fmt.Errorf("sdjwt: issue: %s: a path goes inside a value that is neither object nor array", strings.Join(path, "."))
}

func (is *issuer) object(obj map[string]any, n *node, path []string) (map[string]any, error) {
	if n.each != nil {
		return nil, fmt.Errorf("sdjwt: issue: %s: \"*\" used on an object", strings.Join(path, "."))
	}
	out := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		out[k] = v
	}
	var sd []string
	// Sorted names make issuance deterministic apart from salts.
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := n.children[name]
		v, ok := obj[name]
		if !ok {
			return nil, fmt.Errorf("sdjwt: issue: no claim %s", strings.Join(append(slices.Clone(path), name), "."))
		}
		v, err := is.conceal(v, c, append(slices.Clone(path), name))
		if err != nil {
			return nil, err
		}
		if !c.self {
			out[name] = v
			continue
		}
		digest, err := is.disclose(name, v, true)
		if err != nil {
			return nil, err
		}
		delete(out, name)
		sd = append(sd, digest)
	}
	if len(sd) > 0 {
		for range is.decoys {
			d, err := is.decoy()
			if err != nil {
				return nil, err
			}
			sd = append(sd, d)
		}
		slices.Sort(sd)
		out["_sd"] = sd
	}
	return out, nil
}

func (is *issuer) array(arr []any, n *node, path []string) ([]any, error) {
	for name := range n.children {
		i, err := strconv.Atoi(name)
		if err != nil || i < 0 || i >= len(arr) || strconv.Itoa(i) != name {
			return nil, fmt.Errorf("sdjwt: issue: no element %s", strings.Join(append(slices.Clone(path), name), "."))
		}
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		c := n.children[strconv.Itoa(i)]
		if c == nil {
			c = n.each
		}
		if c == nil {
			out[i] = e
			continue
		}
		v, err := is.conceal(e, c, append(slices.Clone(path), strconv.Itoa(i)))
		if err != nil {
			return nil, err
		}
		if !c.self {
			out[i] = v
			continue
		}
		digest, err := is.disclose("", v, false)
		if err != nil {
			return nil, err
		}
		out[i] = map[string]string{"...": digest}
	}
	return out, nil
}

// disclose makes the Disclosure [salt, name, value] (or [salt, value] for an
// array element) and returns its digest.
func (is *issuer) disclose(name string, v any, named bool) (string, error) {
	var salt [16]byte
	if _, err := io.ReadFull(is.rand, salt[:]); err != nil {
		return "", fmt.Errorf("sdjwt: issue: salt: %w", err)
	}
	arr := []any{b64.EncodeToString(salt[:]), v}
	if named {
		arr = []any{arr[0], name, v}
	}
	b, err := json.Marshal(arr)
	if err != nil {
		return "", fmt.Errorf("sdjwt: issue: claim %q: %w", name, err)
	}
	d := b64.EncodeToString(b)
	is.disclosures = append(is.disclosures, d)
	is.digests++
	return digestOf(d), nil
}

// decoy is a digest of random bytes: indistinguishable from a real one.
func (is *issuer) decoy() (string, error) {
	var r [32]byte
	if _, err := io.ReadFull(is.rand, r[:]); err != nil {
		return "", fmt.Errorf("sdjwt: issue: decoy: %w", err)
	}
	sum := sha256.Sum256(r[:])
	is.digests++
	return b64.EncodeToString(sum[:]), nil
}
