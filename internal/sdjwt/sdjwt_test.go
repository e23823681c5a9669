package sdjwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/jose"
)

const (
	testIssuer = "https://bhxh.civitas.example"
	testVCT    = "urn:vn:gov:health-insurance-card:1"
	testAud    = "https://verifier.civitas.example"
	testNonce  = "n-0S6_WzA2Mj"
)

// fixture is an agency that issues to a citizen's wallet key.
type fixture struct {
	issuer, holder *ecdsa.PrivateKey
	now            time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	iss, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hol, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{issuer: iss, holder: hol, now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
}

// cardClaims is a health-insurance card as a registry would hand it over.
func cardClaims() map[string]any {
	return map[string]any{
		"sub":           "001190012345",
		"given_name":    "Lan",
		"family_name":   "Nguyễn Thị",
		"birthdate":     "1990-04-12",
		"card_number":   "HS4010123456789",
		"hospital":      "Bệnh viện Bạch Mai",
		"benefit_level": 4,
		"valid_from":    "2026-01-01",
		"address": map[string]any{
			"street_address": "12 Lý Thường Kiệt",
			"locality":       "Hoàn Kiếm",
			"region":         "Hà Nội",
			"country":        "VN",
		},
		"nationalities": []any{"VN", "FR"},
	}
}

func (f *fixture) options() IssueOptions {
	return IssueOptions{
		Issuer: testIssuer, VCT: testVCT, IssuedAt: f.now.Add(-time.Hour),
		Expiry: f.now.Add(365 * 24 * time.Hour), Holder: &f.holder.PublicKey,
		Status: &StatusRef{Index: 4711, URI: testIssuer + "/status/1"},
	}
}

func (f *fixture) issue(t testing.TB, claims map[string]any, sd Selective, change func(*IssueOptions)) string {
	t.Helper()
	opts := f.options()
	if change != nil {
		change(&opts)
	}
	tok, err := Issue(f.issuer, jose.Header{Kid: "bhxh-2026"}, claims, sd, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fixture) verifyOptions(kb bool) VerifyOptions {
	o := VerifyOptions{Key: fixedKey(testIssuer, &f.issuer.PublicKey), VCT: testVCT, Now: f.now}
	if kb {
		o.KeyBinding = &ExpectKeyBinding{Audience: testAud, Nonce: testNonce}
	}
	return o
}

func (f *fixture) binding() *KeyBinding {
	return &KeyBinding{Signer: f.holder, Audience: testAud, Nonce: testNonce, IssuedAt: f.now.Add(-time.Second)}
}

func present(t testing.TB, credential string, kb *KeyBinding, keep ...string) string {
	t.Helper()
	s, err := Parse(credential)
	if err != nil {
		t.Fatal(err)
	}
	chosen := make(map[string]bool)
	for _, k := range keep {
		chosen[k] = true
	}
	p, err := s.Present(func(path []string) bool { return chosen[strings.Join(path, "/")] }, kb)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sign makes an issuer-signed JWT over a hand-written payload, for the
// malformed credentials a correct Issue never produces.
func (f *fixture) sign(t testing.TB, payload map[string]any) string {
	t.Helper()
	jwt, err := jose.SignJSON(f.issuer, jose.Header{Alg: jose.ES256, Typ: TypVC}, payload)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

func (f *fixture) basePayload(sd ...string) map[string]any {
	m := map[string]any{"iss": testIssuer, "vct": testVCT, "iat": f.now.Unix() - 60, "_sd_alg": HashAlg}
	if len(sd) > 0 {
		m["_sd"] = sd
	}
	return m
}

func disc(t testing.TB, arr ...any) string {
	t.Helper()
	b, err := json.Marshal(arr)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(b)
}

func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name       string
		sd         Selective
		change     func(*IssueOptions)
		keep       []string // nil: every disclosure
		kb         bool
		wantClaims func(map[string]any) // what the verifier must see, from the issued claims
		disclosed  [][]string
	}{
		{
			name: "ok/all-disclosed-no-kb",
			disclosed: [][]string{{"address"}, {"benefit_level"}, {"birthdate"}, {"card_number"}, {"family_name"},
				{"given_name"}, {"hospital"}, {"nationalities"}, {"sub"}, {"valid_from"}},
		},
		{
			name: "ok/two-claims-with-kb", keep: []string{"given_name", "birthdate"}, kb: true,
			wantClaims: func(m map[string]any) { keepOnly(m, "given_name", "birthdate") },
			disclosed:  [][]string{{"birthdate"}, {"given_name"}},
		},
		{
			name: "ok/nothing-disclosed-with-kb", keep: []string{}, kb: true,
			wantClaims: func(m map[string]any) { keepOnly(m) },
			disclosed:  [][]string{},
		},
		{
			name: "ok/structured-address", sd: Selective{Paths: [][]string{{"address", "locality"}, {"address", "region"}, {"given_name"}}},
			keep: []string{"address/locality"}, kb: true,
			wantClaims: func(m map[string]any) {
				delete(m, "given_name")
				delete(m["address"].(map[string]any), "region")
			},
			disclosed: [][]string{{"address", "locality"}},
		},
		{
			name: "ok/recursive-address-keeps-parent", sd: Selective{Paths: [][]string{{"address"}, {"address", "locality"}, {"address", "region"}}},
			keep: []string{"address/region"},
			wantClaims: func(m map[string]any) {
				delete(m["address"].(map[string]any), "locality")
			},
			disclosed: [][]string{{"address"}, {"address", "region"}},
		},
		{
			name: "ok/array-elements", sd: Selective{Paths: [][]string{{"nationalities", "*"}, {"card_number"}}},
			keep: []string{"nationalities/1"}, kb: true,
			wantClaims: func(m map[string]any) {
				delete(m, "card_number")
				m["nationalities"] = []any{"FR"}
			},
			disclosed: [][]string{{"nationalities", "1"}},
		},
		{
			name: "ok/array-hidden-and-elements", sd: Selective{Paths: [][]string{{"nationalities"}, {"nationalities", "0"}}},
			keep: []string{"nationalities/0"},
			wantClaims: func(m map[string]any) {
				m["nationalities"] = []any{"VN", "FR"}
			},
			disclosed: [][]string{{"nationalities"}, {"nationalities", "0"}},
		},
		{
			name: "ok/decoys", change: func(o *IssueOptions) { o.Decoys = 7 }, keep: []string{"hospital"}, kb: true,
			wantClaims: func(m map[string]any) { keepOnly(m, "hospital") },
			disclosed:  [][]string{{"hospital"}},
		},
		{
			name: "ok/no-selective-claims", sd: Selective{Paths: [][]string{}},
			disclosed: [][]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred := f.issue(t, cardClaims(), tc.sd, tc.change)
			// A holder checks what it receives before keeping it.
			if _, err := Verify(context.Background(), cred, f.verifyOptions(false)); err != nil {
				t.Fatalf("credential: %v", err)
			}
			var kb *KeyBinding
			if tc.kb {
				kb = f.binding()
			}
			var pres string
			if tc.keep == nil {
				pres = present(t, cred, kb, allPaths(t, cred)...)
			} else {
				pres = present(t, cred, kb, tc.keep...)
			}
			v, err := Verify(context.Background(), pres, f.verifyOptions(tc.kb))
			if err != nil {
				t.Fatal(err)
			}
			want := cardClaims()
			if tc.wantClaims != nil {
				tc.wantClaims(want)
			}
			want["iss"], want["vct"], want["iat"], want["exp"] = testIssuer, testVCT, f.now.Add(-time.Hour).Unix(), f.now.Add(365*24*time.Hour).Unix()
			hj, _ := jose.PublicJWK(&f.holder.PublicKey)
			want["cnf"] = map[string]any{"jwk": hj}
			want["status"] = map[string]any{"status_list": map[string]any{"idx": 4711, "uri": testIssuer + "/status/1"}}
			if got, w := asJSON(t, v.Claims), asJSON(t, want); got != w {
				t.Fatalf("claims\n got %s\nwant %s", got, w)
			}
			if !reflect.DeepEqual(v.Disclosed, tc.disclosed) && !(len(v.Disclosed) == 0 && len(tc.disclosed) == 0) {
				t.Fatalf("disclosed %v, want %v", v.Disclosed, tc.disclosed)
			}
			if v.Issuer != testIssuer || v.VCT != testVCT || v.KeyID != "bhxh-2026" || v.KeyBound != tc.kb ||
				v.Status == nil || *v.Status != (StatusRef{4711, testIssuer + "/status/1"}) ||
				v.Holder == nil || !reflect.DeepEqual(*v.Holder, hj) || !v.Expiry.Equal(f.now.Add(365*24*time.Hour)) {
				t.Fatalf("verified %+v", v)
			}
		})
	}
}

func keepOnly(m map[string]any, names ...string) {
	for k := range m {
		if !slices.Contains(names, k) {
			delete(m, k)
		}
	}
}

func allPaths(t testing.TB, cred string) []string {
	s, err := Parse(cred)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range s.Disclosable() {
		out = append(out, strings.Join(p, "/"))
	}
	return out
}

// A presentation must carry nothing of the claims left out: not their
// Disclosures, salts or values, in any of its parts once decoded.
func TestPresentationRevealsOnlyChosenClaims(t *testing.T) {
	f := newFixture(t)
	cred := f.issue(t, cardClaims(), Selective{Paths: [][]string{
		{"given_name"}, {"family_name"}, {"birthdate"}, {"card_number"}, {"hospital"}, {"sub"},
		{"address"}, {"address", "locality"}, {"nationalities", "*"},
	}}, func(o *IssueOptions) { o.Decoys = 3 })
	pres := present(t, cred, f.binding(), "given_name", "nationalities/0")
	s, _ := Parse(cred)
	var decoded strings.Builder
	for _, part := range strings.FieldsFunc(pres, func(r rune) bool { return r == '~' || r == '.' }) {
		b, err := b64.DecodeString(part)
		if err == nil {
			decoded.Write(b)
		}
	}
	for _, d := range s.disclosures {
		kept := slices.Equal(d.path, []string{"given_name"}) || slices.Equal(d.path, []string{"nationalities", "0"})
		var arr []any
		raw, _ := b64.DecodeString(d.raw)
		_ = json.Unmarshal(raw, &arr)
		salt := arr[0].(string)
		if kept != strings.Contains(pres, d.raw) {
			t.Errorf("disclosure of %v present=%v", d.path, !kept)
		}
		if !kept && strings.Contains(decoded.String(), salt) {
			t.Errorf("salt of %v leaked", d.path)
		}
	}
	for _, secret := range []string{"Nguyễn Thị", "1990-04-12", "HS4010123456789", "Bạch Mai", "001190012345", "Hoàn Kiếm", `"FR"`} {
		if strings.Contains(decoded.String(), secret) || strings.Contains(pres, secret) {
			t.Errorf("presentation reveals %q", secret)
		}
	}
	if !strings.Contains(decoded.String(), "Lan") || !strings.Contains(decoded.String(), `"VN"`) {
		t.Error("presentation lacks the chosen claims")
	}
}

func TestVerifyFailures(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	cred := f.issue(t, cardClaims(), Selective{}, nil)
	pres := present(t, cred, nil, "given_name", "birthdate")
	presKB := present(t, cred, f.binding(), "given_name", "birthdate")
	cut := strings.LastIndexByte(presKB, '~') + 1
	sdPart, kbPart := presKB[:cut], presKB[cut:]
	p, _ := split(pres, Limits{}.withDefaults())
	otherCred := other.issue(t, cardClaims(), Selective{}, nil)
	// The first disclosure again, with its salt and name and another value.
	forged := func() string {
		raw, _ := b64.DecodeString(p.disclosures[0])
		var arr []any
		_ = json.Unmarshal(raw, &arr)
		return disc(t, arr[0], arr[1], "1970-01-01")
	}()
	op, _ := split(otherCred, Limits{}.withDefaults())

	kbJWT := func(signer crypto.Signer, h jose.Header, claims map[string]any) string {
		jwt, err := jose.SignJSON(signer, h, claims)
		if err != nil {
			t.Fatal(err)
		}
		return jwt
	}
	kbClaims := func(presented string) map[string]any {
		return map[string]any{"iat": f.now.Unix(), "aud": testAud, "nonce": testNonce, "sd_hash": digestOf(presented)}
	}
	kbHeader := jose.Header{Alg: jose.ES256, Typ: TypKB}

	given := disc(t, "c2FsdHNhbHRzYWx0c2FsdA", "given_name", "Lan")
	expDisc := disc(t, "c2FsdHNhbHRzYWx0c2FsdA", "exp", 1)
	elem := disc(t, "c2FsdHNhbHRzYWx0c2FsdA", "VN")

	for _, tc := range []struct {
		name    string
		token   string
		opts    func(*VerifyOptions)
		kb      bool
		wantErr string
	}{
		{name: "fail/tampered-disclosure", token: p.issuerJWT + "~" + flip(p.disclosures[0], 5) + "~" + p.disclosures[1] + "~"},
		{name: "fail/forged-value-same-salt", token: p.issuerJWT + "~" + forged + "~" + p.disclosures[1] + "~", wantErr: "not referenced"},
		{name: "fail/disclosure-of-another-credential", token: pres + op.disclosures[0] + "~", wantErr: "not referenced"},
		{name: "fail/unknown-digest", token: pres + given + "~", wantErr: "not referenced"},
		{name: "fail/disclosure-sent-twice", token: pres + p.disclosures[0] + "~", wantErr: "sent twice"},
		{name: "fail/issuer-signature-tampered", token: flip(p.issuerJWT, len(p.issuerJWT)-10) + "~", wantErr: "issuer signature"},
		{name: "fail/issuer-payload-tampered", token: flip(p.issuerJWT, strings.IndexByte(p.issuerJWT, '.')+20) + "~"},
		{name: "fail/other-issuers-key", token: otherCred, wantErr: "issuer signature"},
		{name: "fail/untrusted-issuer", token: pres, opts: func(o *VerifyOptions) { o.Key = fixedKey("https://other.example", &f.issuer.PublicKey) },
			wantErr: "not trusted"},
		{name: "fail/algorithm-not-allowed", token: pres, opts: func(o *VerifyOptions) { o.Algs = []string{jose.ES384} }, wantErr: "issuer signature"},
		{name: "fail/expired", token: pres, opts: func(o *VerifyOptions) { o.Now = f.now.Add(366 * 24 * time.Hour) }, wantErr: "expired"},
		{name: "fail/issued-in-the-future", token: pres, opts: func(o *VerifyOptions) { o.Now = f.now.Add(-2 * time.Hour) }, wantErr: "future"},
		{name: "fail/other-type", token: pres, opts: func(o *VerifyOptions) { o.VCT = "urn:vn:gov:driving-licence:1" }, wantErr: "wrong credential type"},
		{name: "fail/not-an-sd-jwt", token: p.issuerJWT, wantErr: "not an SD-JWT"},
		{name: "fail/empty-disclosure", token: p.issuerJWT + "~~", wantErr: "empty disclosure"},
		{name: "fail/too-large", token: pres, opts: func(o *VerifyOptions) { o.Limits.MaxSize = 100 }, wantErr: "too large"},
		{name: "fail/too-many-disclosures", token: pres, opts: func(o *VerifyOptions) { o.Limits.MaxDisclosures = 1 }, wantErr: "too many"},

		{name: "fail/kb-missing-when-required", token: pres, kb: true, wantErr: "key binding JWT required"},
		{name: "fail/kb-not-expected", token: presKB, wantErr: "unexpected key binding"},
		{name: "fail/kb-wrong-audience", token: presKB, kb: true,
			opts: func(o *VerifyOptions) { o.KeyBinding.Audience = "https://evil.example" }, wantErr: "another verifier"},
		{name: "fail/kb-wrong-nonce", token: presKB, kb: true,
			opts: func(o *VerifyOptions) { o.KeyBinding.Nonce = "replayed" }, wantErr: "wrong nonce"},
		{name: "fail/kb-sd-hash-of-other-disclosures", token: present(t, cred, nil, "given_name") + kbPart, kb: true, wantErr: "does not cover"},
		{name: "fail/kb-disclosure-dropped", token: p.issuerJWT + "~" + p.disclosures[0] + "~" + kbPart, kb: true, wantErr: "does not cover"},
		{name: "fail/kb-wrong-key", token: sdPart + kbJWT(other.holder, kbHeader, kbClaims(sdPart)), kb: true, wantErr: "key binding signature"},
		{name: "fail/kb-wrong-typ", token: sdPart + kbJWT(f.holder, jose.Header{Alg: jose.ES256, Typ: "JWT"}, kbClaims(sdPart)), kb: true,
			wantErr: "wrong typ"},
		{name: "fail/kb-signature-tampered", token: sdPart + flip(kbPart, len(kbPart)-5), kb: true, wantErr: "key binding signature"},
		{name: "fail/kb-too-old", token: presKB, kb: true, opts: func(o *VerifyOptions) { o.Now = f.now.Add(10 * time.Minute) }, wantErr: "too old"},
		{name: "fail/kb-in-the-future", token: presKB, kb: true, opts: func(o *VerifyOptions) { o.Now = f.now.Add(-time.Minute) },
			wantErr: "future"},
		{name: "fail/kb-audience-array", token: sdPart + kbJWT(f.holder, kbHeader, map[string]any{
			"iat": f.now.Unix(), "aud": []string{testAud}, "nonce": testNonce, "sd_hash": digestOf(sdPart)}), kb: true, wantErr: "malformed"},
		{name: "fail/kb-without-holder-key", token: func() string {
			c := f.issue(t, cardClaims(), Selective{}, func(o *IssueOptions) { o.Holder = nil })
			return c + kbJWT(f.holder, kbHeader, kbClaims(c))
		}(), kb: true, wantErr: "no holder key"},

		// Payloads a correct issuer never signs.
		{name: "fail/duplicate-digest", token: f.sign(t, f.basePayload(digestOf(given), digestOf(given))) + "~" + given + "~", wantErr: "twice"},
		{name: "fail/duplicate-digest-across-levels", token: func() string {
			pl := f.basePayload(digestOf(given))
			pl["address"] = map[string]any{"_sd": []string{digestOf(given)}}
			return f.sign(t, pl) + "~"
		}(), wantErr: "twice"},
		{name: "fail/disclosure-redefines-plain-claim", token: func() string {
			pl := f.basePayload(digestOf(given))
			pl["given_name"] = "Mai"
			return f.sign(t, pl) + "~" + given + "~"
		}(), wantErr: "redefines"},
		{name: "fail/validity-claim-disclosable", token: f.sign(t, f.basePayload(digestOf(expDisc))) + "~" + expDisc + "~", wantErr: "must not be selectively"},
		{name: "fail/status-list-hidden-inside-status", token: func() string {
			d := disc(t, "c2FsdA", "status_list", map[string]any{"idx": 1, "uri": "https://x"})
			pl := f.basePayload()
			pl["status"] = map[string]any{"_sd": []string{digestOf(d)}}
			return f.sign(t, pl) + "~" // the holder left the disclosure out
		}(), wantErr: `claim "status" must not be`},
		{name: "fail/element-hidden-inside-aka_vcts", token: func() string {
			pl := f.basePayload()
			pl["aka_vcts"] = []any{"urn:a", map[string]string{"...": digestOf(elem)}}
			return f.sign(t, pl) + "~"
		}(), wantErr: `claim "aka_vcts" must not be`},
		{name: "fail/disclosure-named-_sd", token: func() string {
			d := disc(t, "c2FsdA", "_sd", []string{"x"})
			return f.sign(t, f.basePayload(digestOf(d))) + "~" + d + "~"
		}(), wantErr: "reserved claim name"},
		{name: "fail/disclosure-named-dots", token: func() string {
			d := disc(t, "c2FsdA", "...", "x")
			return f.sign(t, f.basePayload(digestOf(d))) + "~" + d + "~"
		}(), wantErr: "reserved claim name"},
		{name: "fail/array-disclosure-in-_sd", token: f.sign(t, f.basePayload(digestOf(elem))) + "~" + elem + "~", wantErr: "array element disclosure"},
		{name: "fail/object-disclosure-in-array", token: func() string {
			pl := f.basePayload()
			pl["nationalities"] = []any{map[string]string{"...": digestOf(given)}}
			return f.sign(t, pl) + "~" + given + "~"
		}(), wantErr: "object property disclosure"},
		{name: "fail/dots-with-other-members", token: func() string {
			pl := f.basePayload()
			pl["nationalities"] = []any{map[string]string{"...": digestOf(elem), "x": "y"}}
			return f.sign(t, pl) + "~" + elem + "~"
		}(), wantErr: "malformed"},
		{name: "fail/sd-not-an-array", token: func() string {
			pl := f.basePayload()
			pl["_sd"] = "abc"
			return f.sign(t, pl) + "~"
		}(), wantErr: "_sd is not an array"},
		{name: "fail/sd-alg-sha-512", token: func() string {
			pl := f.basePayload(digestOf(given))
			pl["_sd_alg"] = "sha-512"
			return f.sign(t, pl) + "~" + given + "~"
		}(), wantErr: "_sd_alg"},
		{name: "fail/nested-sd-alg", token: func() string {
			pl := f.basePayload()
			pl["address"] = map[string]any{"_sd_alg": HashAlg}
			return f.sign(t, pl) + "~"
		}(), wantErr: "_sd_alg"},
		{name: "fail/no-vct", token: func() string {
			pl := f.basePayload()
			delete(pl, "vct")
			return f.sign(t, pl) + "~"
		}(), opts: func(o *VerifyOptions) { o.VCT = "" }, wantErr: "no vct"},
		{name: "fail/bad-status", token: func() string {
			pl := f.basePayload()
			pl["status"] = map[string]any{"status_list": map[string]any{"idx": -1, "uri": "x"}}
			return f.sign(t, pl) + "~"
		}(), wantErr: "status_list"},
		{name: "fail/nested-too-deeply", token: func() string {
			pl := f.basePayload()
			var v any = "deep"
			for range maxDepth + 2 {
				v = []any{v}
			}
			pl["x"] = v
			return f.sign(t, pl) + "~"
		}(), wantErr: "too deeply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := f.verifyOptions(tc.kb)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Verify(context.Background(), tc.token, opts)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		sd     Selective
		change func(*IssueOptions)
	}{
		{name: "fail/exp-in-claims", claims: map[string]any{"exp": 1}},
		{name: "fail/cnf-in-claims", claims: map[string]any{"cnf": map[string]any{}}},
		{name: "fail/reserved-member-inside", claims: map[string]any{"a": map[string]any{"b": []any{map[string]any{"...": "x"}}}}},
		{name: "fail/plain-claim-selected", claims: map[string]any{"aka_vcts": []any{"urn:x"}}, sd: Selective{Paths: [][]string{{"aka_vcts"}}}},
		{name: "fail/no-such-claim", claims: cardClaims(), sd: Selective{Paths: [][]string{{"address", "postal_code"}}}},
		{name: "fail/no-such-element", claims: cardClaims(), sd: Selective{Paths: [][]string{{"nationalities", "2"}}}},
		{name: "fail/path-into-a-string", claims: cardClaims(), sd: Selective{Paths: [][]string{{"given_name", "x"}}}},
		{name: "fail/no-vct", claims: cardClaims(), change: func(o *IssueOptions) { o.VCT = "" }},
		{name: "fail/too-many-decoys", claims: cardClaims(), change: func(o *IssueOptions) { o.Decoys = 1000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := f.options()
			if tc.change != nil {
				tc.change(&opts)
			}
			if _, err := Issue(f.issuer, jose.Header{}, tc.claims, tc.sd, opts); err == nil {
				t.Fatal("issued")
			}
		})
	}
}

func TestIssueShape(t *testing.T) {
	f := newFixture(t)
	type address struct {
		Locality string `json:"locality"`
		Country  string `json:"country"`
	}
	claims := map[string]any{"given_name": "Lan", "address": address{"Hoàn Kiếm", "VN"}, "aka_vcts": []any{"urn:vn:gov:card"}}
	cred := f.issue(t, claims, Selective{Paths: [][]string{{"given_name"}, {"address", "locality"}}}, func(o *IssueOptions) { o.Decoys = 2 })
	if !strings.HasSuffix(cred, "~") || strings.Count(cred, "~") != 3 {
		t.Fatalf("want issuer JWT and 2 disclosures: %s", cred)
	}
	p, _ := split(cred, Limits{}.withDefaults())
	jws, err := jose.Parse(p.issuerJWT)
	if err != nil || jws.Header.Typ != TypVC || jws.Header.Alg != jose.ES256 {
		t.Fatalf("header %+v %v", jws, err)
	}
	var payload struct {
		SD      []string `json:"_sd"`
		SDAlg   string   `json:"_sd_alg"`
		AkaVCTs []string `json:"aka_vcts"`
		Address struct {
			SD      []string `json:"_sd"`
			Country string   `json:"country"`
		} `json:"address"`
	}
	if err := json.Unmarshal(jws.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if len(payload.SD) != 3 || len(payload.Address.SD) != 3 || payload.SDAlg != HashAlg ||
		payload.Address.Country != "VN" || len(payload.AkaVCTs) != 1 {
		t.Fatalf("payload %s", jws.Payload)
	}
	if !slices.IsSorted(payload.SD) || !slices.IsSorted(payload.Address.SD) {
		t.Fatal("digests not sorted")
	}
	for _, d := range p.disclosures {
		var arr []any
		raw, _ := b64.DecodeString(d)
		if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != 3 {
			t.Fatalf("disclosure %s", raw)
		}
		salt, _ := b64.DecodeString(arr[0].(string))
		if len(salt) != 16 {
			t.Fatalf("salt of %d bytes", len(salt))
		}
	}
	// No selective claims: no _sd, no _sd_alg, no disclosures (SD-JWT VC §2.2.2.5).
	plain := f.issue(t, map[string]any{"given_name": "Lan"}, Selective{Paths: [][]string{}}, nil)
	pp, _ := split(plain, Limits{}.withDefaults())
	jws, _ = jose.Parse(pp.issuerJWT)
	if len(pp.disclosures) != 0 || strings.Contains(string(jws.Payload), "_sd") {
		t.Fatalf("plain credential %s", jws.Payload)
	}
}

func TestPresentRefuses(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	cred := f.issue(t, cardClaims(), Selective{}, nil)
	s, err := Parse(cred)
	if err != nil {
		t.Fatal(err)
	}
	all := func([]string) bool { return true }
	if _, err := s.Present(all, &KeyBinding{Signer: other.holder, Audience: testAud, Nonce: testNonce, IssuedAt: f.now}); err == nil {
		t.Error("presented with another key than cnf")
	}
	if _, err := s.Present(all, &KeyBinding{Signer: f.holder, Audience: testAud, IssuedAt: f.now}); err == nil {
		t.Error("presented without a nonce")
	}
	pres := present(t, cred, f.binding(), "given_name")
	s2, err := Parse(pres)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Present(all, nil); err == nil {
		t.Error("presented a presentation again")
	}
}

func TestSignatureCache(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	cred := f.issue(t, cardClaims(), Selective{}, nil)
	pres := present(t, cred, f.binding(), "given_name")
	cache := NewSignatureCache(2)
	opts := f.verifyOptions(true)
	opts.Cache = cache
	ctx := context.Background()
	for range 2 {
		if _, err := Verify(ctx, pres, opts); err != nil {
			t.Fatal(err)
		}
	}
	if len(cache.seen) != 1 {
		t.Fatalf("cache holds %d entries", len(cache.seen))
	}
	p, _ := split(pres, Limits{}.withDefaults())
	for _, tc := range []struct {
		name    string
		token   string
		change  func(*VerifyOptions)
		wantErr string
	}{
		{name: "fail/cached-credential-tampered-signature", token: flip(p.issuerJWT, len(p.issuerJWT)-3) + "~", wantErr: "issuer signature"},
		{name: "fail/cached-credential-key-no-longer-trusted", token: p.issuerJWT + "~",
			change: func(o *VerifyOptions) { o.Key = fixedKey(testIssuer, &other.issuer.PublicKey) }, wantErr: "issuer signature"},
		{name: "fail/cached-credential-algorithm-no-longer-allowed", token: p.issuerJWT + "~",
			change: func(o *VerifyOptions) { o.Algs = []string{jose.ES384} }, wantErr: "not allowed"},
		{name: "fail/cached-credential-expired", token: p.issuerJWT + "~",
			change: func(o *VerifyOptions) { o.Now = f.now.Add(400 * 24 * time.Hour) }, wantErr: "expired"},
		{name: "fail/cached-credential-kb-still-checked", token: pres,
			change: func(o *VerifyOptions) { o.KeyBinding = &ExpectKeyBinding{Audience: testAud, Nonce: "other"} }, wantErr: "nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := f.verifyOptions(false)
			o.Cache = cache
			if tc.change != nil {
				tc.change(&o)
			}
			if _, err := Verify(ctx, tc.token, o); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
	// Eviction keeps the size bound; concurrent use is safe (run with -race).
	creds := make([]string, 4)
	for i := range creds {
		creds[i] = f.issue(t, map[string]any{"n": i}, Selective{}, nil)
	}
	done := make(chan struct{})
	for _, c := range creds {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 3 {
				if _, err := Verify(ctx, c, f.verifyOptions(false)); err != nil {
					t.Error(err)
				}
				o := f.verifyOptions(false)
				o.Cache = cache
				if _, err := Verify(ctx, c, o); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	if len(cache.seen) != 2 || len(cache.ring) != 2 {
		t.Fatalf("cache grew to %d", len(cache.seen))
	}
}
