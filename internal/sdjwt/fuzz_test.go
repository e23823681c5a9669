package sdjwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds are real credentials and presentations, the RFC's and ours.
func fuzzSeeds(f *testing.F, fx *fixture, add func(string)) {
	cred := fx.issue(f, cardClaims(), Selective{Paths: [][]string{
		{"given_name"}, {"address"}, {"address", "locality"}, {"nationalities", "*"},
	}}, func(o *IssueOptions) { o.Decoys = 2 })
	for _, s := range []string{
		cred,
		present(f, cred, nil, "address/locality", "nationalities/1"),
		present(f, cred, fx.binding(), "given_name"),
		rfc9901Issuance, rfc9901Presentation, vcDraftPresentationKB, vcDraftPresentation,
		"", "~", "~~", "a.b.c~", "a.b.c~WyJzIiwiYSIsMV0~a.b.c",
	} {
		add(s)
	}
}

// fuzzFixture has fixed keys, so that a signature found by the fuzzer stays
// valid when its input is replayed from testdata.
func fuzzFixture(f *testing.F) *fixture {
	key := func(d int64) *ecdsa.PrivateKey {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), new(big.Int).SetInt64(d).FillBytes(make([]byte, 32)))
		if err != nil {
			f.Fatal(err)
		}
		return k
	}
	return &fixture{issuer: key(0x5eed1), holder: key(0x5eed2), now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
}

func FuzzParse(f *testing.F) {
	fx := fuzzFixture(f)
	fuzzSeeds(f, fx, func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, token string) {
		s, err := Parse(token)
		if err != nil {
			return
		}
		if s.kb != "" {
			return
		}
		// Whatever parses can be presented whole or in part, and the result
		// parses again to the same disclosable paths when kept whole.
		whole, err := s.Present(func([]string) bool { return true }, nil)
		if err != nil {
			t.Fatalf("present: %v", err)
		}
		again, err := Parse(whole)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if len(again.Disclosable()) != len(s.Disclosable()) {
			t.Fatal("disclosures lost")
		}
		if _, err := s.Present(func(p []string) bool { return len(p) > 1 }, nil); err != nil {
			t.Fatalf("partial present: %v", err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	fx := fuzzFixture(f)
	fuzzSeeds(f, fx, func(s string) { f.Add(s, strings.Count(s, "~") > 0 && !strings.HasSuffix(s, "~")) })
	f.Fuzz(func(t *testing.T, token string, kb bool) {
		opts := fx.verifyOptions(kb)
		opts.VCT = ""
		v, err := Verify(context.Background(), token, opts)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sdjwt: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		if v.Issuer != testIssuer || v.KeyBound != kb {
			t.Fatalf("verified %+v", v)
		}
		for k := range v.Claims {
			if k == "_sd" || k == "_sd_alg" {
				t.Fatalf("processed payload keeps %s", k)
			}
		}
	})
}

// FuzzParseJSON: parseJSON takes and refuses what encoding/json (an any,
// UseNumber, nothing after the value) takes and refuses, with equal values.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e+3,"x\u00e9",true,null,{}],"b":{"c":[]}}`, `["salt","name","Nguyễn Văn An"]`,
		` [ "a\"b\\\/c\ud83d\ude00\udc00" , 0 , -0.0E1 ] `, `{"a":1,"a":2}`, `01`, `[1,]`, `{"a" 1}`, `"\xff\xfe"`, `nul`, `[`, `1 2`,
		"\"\x01\"", `"\u12"`, `-`, `1.`, `1e`, `[[[[]]]]`, `{"":""}`, "\ufeff{}", `tru`, `"a\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseJSON(b)
		var want any
		werr := decodeJSON(b, &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: parseJSON %v, encoding/json %v", b, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: parseJSON %#v, encoding/json %#v", b, got, want)
		}
	})
}
