package wallet

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/kernel"
	"civitas/internal/registry"
)

//go:embed types/*.json
var builtinTypes embed.FS

// Holder kinds: whom a document type is issued to.
const (
	HolderPerson       = "person"       // by citizen ID
	HolderOrganisation = "organisation" // by enterprise code
)

// Claim types a document type's claims may have.
const (
	ClaimString  = "string"
	ClaimDate    = "date" // YYYY-MM-DD
	ClaimNumber  = "number"
	ClaimBoolean = "boolean"
)

// Sources of claims that registries hold: a type with a source is filled
// from that registry when an issuer gives no claims, and a citizen can
// pull ("integrate") it into their wallet.
const (
	SourcePopulation = "population"
	SourceBusiness   = "business"
	SourceInsurance  = "insurance" // the health-insurance registry: one card per person
	SourceVehicles   = "vehicles"  // the vehicle registry: a document per vehicle a person owns
)

// ClaimSpec is one claim of a document type.
type ClaimSpec struct {
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Required bool              `json:"required"`
	Labels   map[string]string `json:"labels"` // by language: vi, en, ar
}

// Type is a kind of document the wallet holds: a citizen ID card, a
// health-insurance card, a business registration. Types are data (JSON
// files), so a new one needs no code.
type Type struct {
	Code     string                `json:"code"`
	Names    map[string]string     `json:"names"`    // by language: vi, en, ar
	Holder   string                `json:"holder"`   // HolderPerson or HolderOrganisation
	Issuers  []registry.AgencyKind `json:"issuers"`  // agency kinds that may issue it
	Validity string                `json:"validity"` // ISO 8601 duration (P10Y, P6M, P30D); empty: no expiry
	Offline  bool                  `json:"offline"`  // may be shown without a network (the verifier trusts a cached status)
	Source   string                `json:"source"`   // registry holding it, or empty
	Claims   []ClaimSpec           `json:"claims"`
}

// Name is the type's name in lang, Vietnamese when lang has none.
func (t Type) Name(lang string) string {
	if n := t.Names[lang]; n != "" {
		return n
	}
	return t.Names["vi"]
}

// Label is a claim's label in lang, Vietnamese when lang has none, the
// claim's name when the type does not know it.
func (t Type) Label(claim, lang string) string {
	for _, c := range t.Claims {
		if c.Name == claim {
			if l := c.Labels[lang]; l != "" {
				return l
			}
			return c.Labels["vi"]
		}
	}
	return claim
}

// IssuedBy reports whether an agency of kind k may issue the type.
func (t Type) IssuedBy(k registry.AgencyKind) bool { return slices.Contains(t.Issuers, k) }

// ExpiresAt is when a document of the type issued at from stops being
// valid; zero for a type without expiry.
func (t Type) ExpiresAt(from time.Time) time.Time {
	if t.Validity == "" {
		return time.Time{}
	}
	y, m, d, _ := parseDuration(t.Validity)
	return from.AddDate(y, m, d)
}

// Catalogue is the set of document types, by code. Read-only once loaded.
type Catalogue struct {
	types map[string]Type
	codes []string // sorted
}

// Type returns the type with that code.
func (c *Catalogue) Type(code string) (Type, error) {
	t, ok := c.types[code]
	if !ok {
		return Type{}, kernel.E(kernel.NotFound, "wallet.error.no_type")
	}
	return t, nil
}

// Types lists every type, by code.
func (c *Catalogue) Types() []Type {
	out := make([]Type, len(c.codes))
	for i, code := range c.codes {
		out[i] = c.types[code]
	}
	return out
}

// LoadCatalogue reads the built-in types and then every *.json in dir (if
// dir is not empty and exists): a file there with a built-in type's code
// replaces it. Any invalid file stops the load with its name and why.
func LoadCatalogue(dir string) (*Catalogue, error) {
	c := &Catalogue{types: map[string]Type{}}
	sub, _ := fs.Sub(builtinTypes, "types")
	if err := c.addFS(sub, false); err != nil {
		return nil, err
	}
	if dir != "" {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			if err := c.addFS(os.DirFS(dir), true); err != nil {
				return nil, err
			}
		}
	}
	for code := range c.types {
		c.codes = append(c.codes, code)
	}
	slices.Sort(c.codes)
	return c, nil
}

func (c *Catalogue) addFS(fsys fs.FS, replace bool) error {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("wallet: document type %s: %w", name, err)
		}
		if len(b) > 256<<10 {
			return fmt.Errorf("wallet: document type %s: larger than 256 KiB", name)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		var t Type
		if err := dec.Decode(&t); err != nil {
			return fmt.Errorf("wallet: document type %s: %w", name, err)
		}
		if err := t.validate(); err != nil {
			return fmt.Errorf("wallet: document type %s: %w", name, err)
		}
		if want := strings.TrimSuffix(filepath.Base(name), ".json"); t.Code != want {
			return fmt.Errorf("wallet: document type %s: code %q must match the file name", name, t.Code)
		}
		if seen[t.Code] || (!replace && c.types[t.Code].Code != "") {
			return fmt.Errorf("wallet: document type %s: code %q twice", name, t.Code)
		}
		seen[t.Code] = true
		c.types[t.Code] = t
	}
	return nil
}

var (
	codeRE     = regexp.MustCompile(`^[a-z][a-z0-9_]{1,47}$`)
	durationRE = regexp.MustCompile(`^P(?:(\d{1,3})Y)?(?:(\d{1,4})M)?(?:(\d{1,5})D)?$`)
)

// parseDuration reads the years, months and days of an ISO 8601 duration
// with those parts only (P10Y, P6M, P1Y6M, P30D).
func parseDuration(s string) (y, m, d int, ok bool) {
	g := durationRE.FindStringSubmatch(s)
	if g == nil || s == "P" {
		return 0, 0, 0, false
	}
	y, _ = strconv.Atoi(g[1])
	m, _ = strconv.Atoi(g[2])
	d, _ = strconv.Atoi(g[3])
	return y, m, d, y+m+d > 0
}

var languages = []string{"vi", "en", "ar"}

func (t Type) validate() error {
	if !codeRE.MatchString(t.Code) {
		return fmt.Errorf("code %q: lowercase letters, digits and _ (2 to 48)", t.Code)
	}
	for _, l := range languages {
		if strings.TrimSpace(t.Names[l]) == "" {
			return fmt.Errorf("no %s name", l)
		}
	}
	if t.Holder != HolderPerson && t.Holder != HolderOrganisation {
		return fmt.Errorf("holder %q: person or organisation", t.Holder)
	}
	if len(t.Issuers) == 0 {
		return fmt.Errorf("no issuing agency kind")
	}
	for _, k := range t.Issuers {
		if (registry.Agency{Code: "x", Name: "x", Kind: k, UnitCode: "x"}).Validate() != nil {
			return fmt.Errorf("issuer %q is not an agency kind", k)
		}
	}
	if t.Validity != "" {
		if _, _, _, ok := parseDuration(t.Validity); !ok {
			return fmt.Errorf("validity %q: an ISO 8601 duration such as P10Y, P6M or P30D", t.Validity)
		}
	}
	switch t.Source {
	case "", SourcePopulation, SourceBusiness, SourceInsurance, SourceVehicles:
	default:
		return fmt.Errorf("source %q: population, business, insurance, vehicles or none", t.Source)
	}
	if t.Source != "" && t.Source != SourceBusiness && t.Holder != HolderPerson || t.Source == SourceBusiness && t.Holder != HolderOrganisation {
		return fmt.Errorf("source %q does not hold documents of a %s", t.Source, t.Holder)
	}
	if len(t.Claims) == 0 || len(t.Claims) > 64 {
		return fmt.Errorf("1 to 64 claims")
	}
	names := map[string]bool{}
	for _, c := range t.Claims {
		if !codeRE.MatchString(c.Name) || reservedClaim(c.Name) {
			return fmt.Errorf("claim %q: lowercase letters, digits and _, and not a registered JWT claim", c.Name)
		}
		if names[c.Name] {
			return fmt.Errorf("claim %q twice", c.Name)
		}
		names[c.Name] = true
		switch c.Type {
		case ClaimString, ClaimDate, ClaimNumber, ClaimBoolean:
		default:
			return fmt.Errorf("claim %q: type %q", c.Name, c.Type)
		}
		for _, l := range languages {
			if strings.TrimSpace(c.Labels[l]) == "" {
				return fmt.Errorf("claim %q: no %s label", c.Name, l)
			}
		}
	}
	return nil
}

// reservedClaim: names the credential itself uses (JWT, SD-JWT, SD-JWT VC).
func reservedClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf", "vct", "status", "_sd", "_sd_alg":
		return true
	}
	return false
}

// maxClaimText bounds a string claim: documents are short.
const maxClaimText = 500

// CheckClaims checks claims against the type: every required claim given,
// no claim the type does not have, each of its type. Numbers arrive as
// float64 (JSON) or int.
func (t Type) CheckClaims(claims map[string]any) error {
	specs := map[string]ClaimSpec{}
	for _, c := range t.Claims {
		specs[c.Name] = c
		if v, ok := claims[c.Name]; c.Required && (!ok || v == nil || v == "") {
			return kernel.E(kernel.Invalid, "wallet.error.claim_missing", c.Name)
		}
	}
	for name, v := range claims {
		spec, ok := specs[name]
		if !ok {
			return kernel.E(kernel.Invalid, "wallet.error.claim_unknown", name)
		}
		if v == nil || v == "" {
			continue // an optional claim left out
		}
		bad := false
		switch spec.Type {
		case ClaimString:
			s, ok := v.(string)
			bad = !ok || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxClaimText
		case ClaimDate:
			s, ok := v.(string)
			if bad = !ok; !bad {
				_, err := time.Parse(time.DateOnly, s)
				bad = err != nil
			}
		case ClaimNumber:
			switch v.(type) {
			case float64, int, int64, json.Number:
			default:
				bad = true
			}
		case ClaimBoolean:
			_, ok := v.(bool)
			bad = !ok
		}
		if bad {
			return kernel.E(kernel.Invalid, "wallet.error.claim_bad", name)
		}
	}
	return nil
}
