package sdjwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/jose"
)

// Known answers written by others: the examples of RFC 9901 (as published
// from draft-ietf-oauth-selective-disclosure-jwt-22, §4.2 and §5) and of the
// SD-JWT VC draft (§2.3), with the example keys those documents publish.
const (
	// RFC 9901 §4.2.1 and §4.2.3: a Disclosure and its digest.
	rfcDisclosure = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
	rfcDigest     = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
	// RFC 9901 §4.2.2 and §4.2.4.2: an array element Disclosure and its digest.
	rfcArrayDisclosure = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
	rfcArrayDigest     = "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"

	// The issuer and holder keys of both documents' examples (their
	// examples/settings.yml): public parts, and the holder's private scalar.
	exampleIssuerX = "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ"
	exampleIssuerY = "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"
	exampleHolderD = "5K5SCos8zf9zRemGGUl6yfok-_NiiryNZsvANWMhF-I"
	exampleHolderX = "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc"
	exampleHolderY = "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"

	// RFC 9901 §5.1 (the SD-JWT as issued) and §5.2 (an SD-JWT+KB).
	rfc9901Issuance = "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBb" +
		"IkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJTSDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZ" +
		"akg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBL" +
		"dVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1" +
		"SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tB" +
		"TmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242Q0pEYzZ2" +
		"Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFr" +
		"b2I5aFYxY1JEMEFUTjNvUUw5Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpn" +
		"bGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUu" +
		"Y29tIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjog" +
		"InVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15" +
		"VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1" +
		"ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjog" +
		"InNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0y" +
		"NTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VH" +
		"ZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlG" +
		"MkhaUSJ9fX0.ow2VRoOnXDjBhV-c2XUX9zWmHhbd5hao3xa39DfE4UX_wlsBlh5KBsmK" +
		"eDd59GgpIbWFIomQWRy3A4L-St_6aQ~WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgI" +
		"mdpdmVuX25hbWUiLCAiSm9obiJd~WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZh" +
		"bWlseV9uYW1lIiwgIkRvZSJd~WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWl" +
		"sIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ~WyJlSThaV205UW5LUHBOUGVOZW5IZGhR" +
		"IiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTAxMDEiXQ~WyJRZ19PNjR6cUF4Z" +
		"TQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJpZmllZCIsIHRydWVd~WyJBSngt" +
		"MDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjog" +
		"IjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFu" +
		"eXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0~WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZR" +
		"IiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0~WyJHMDJOU3JRZmpGWFE3SW8wOXN5" +
		"YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMDAwXQ~WyJsa2x4RjVqTVlsR1RQVW92T" +
		"U5JdkNBIiwgIlVTIl0~WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0~"

	rfc9901Presentation = "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBb" +
		"IkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJTSDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZ" +
		"akg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBL" +
		"dVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1" +
		"SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tB" +
		"TmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242Q0pEYzZ2" +
		"Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFr" +
		"b2I5aFYxY1JEMEFUTjNvUUw5Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpn" +
		"bGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUu" +
		"Y29tIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjog" +
		"InVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15" +
		"VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1" +
		"ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjog" +
		"InNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0y" +
		"NTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VH" +
		"ZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlG" +
		"MkhaUSJ9fX0.ow2VRoOnXDjBhV-c2XUX9zWmHhbd5hao3xa39DfE4UX_wlsBlh5KBsmK" +
		"eDd59GgpIbWFIomQWRy3A4L-St_6aQ~WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgI" +
		"mZhbWlseV9uYW1lIiwgIkRvZSJd~WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFk" +
		"ZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5" +
		"IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMi" +
		"fV0~WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd" +
		"~WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0~eyJhbGciOiAiRVMyNTYiLCA" +
		"idHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZCI6ICJodH" +
		"RwczovL3ZlcmlmaWVyLmV4YW1wbGUub3JnIiwgImlhdCI6IDE3NDg1MzcyNDMsICJzZF" +
		"9oYXNoIjogIkczSTh6LWNGTUFUQUsyZXA4TVhXay12bmpJM1g2LWFhaFllVTlUdnp6M0" +
		"UifQ.PqD8kiTmgP5PDvnRB8PzuzHYU5hH8bEw88jFN9aT5a5CblBjVcFig044UoWeJU6" +
		"cUqBPAXVh0XAL8of4_Sp71g"
	// SD-JWT VC draft §2.3.2, Figure 8 (an SD-JWT+KB) and Figure 10 (no KB).
	vcDraftPresentationKB = "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImRjK3NkLWp3dCIsICJraWQiOiAiZG9jLXNp" +
		"Z25lci0wNS0yNS0yMDIyIn0.eyJfc2QiOiBbIjA5dktySk1PbHlUV00wc2pwdV9wZE9C" +
		"VkJRMk0xeTNLaHBINTE1blhrcFkiLCAiMnJzakdiYUMwa3k4bVQwcEpyUGlvV1RxMF9k" +
		"YXcxc1g3NnBvVWxnQ3diSSIsICJFa084ZGhXMGRIRUpidlVIbEVfVkNldUM5dVJFTE9p" +
		"ZUxaaGg3WGJVVHRBIiwgIklsRHpJS2VpWmREd3BxcEs2WmZieXBoRnZ6NUZnbldhLXNO" +
		"NndxUVhDaXciLCAiSnpZakg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQ" +
		"WWxTRSIsICJQb3JGYnBLdVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJ" +
		"IiwgIlRHZjRvTGJnd2Q1SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9tTG8iLCAi" +
		"amRyVEU4WWNiWTRFaWZ1Z2loaUFlX0JQZWt4SlFaSUNlaVVRd1k5UXF4SSIsICJqc3U5" +
		"eVZ1bHdRUWxoRmxNXzNKbHpNYVNGemdsaFFHMERwZmF5UXdMVUs0Il0sICJpc3MiOiAi" +
		"aHR0cHM6Ly9leGFtcGxlLmNvbS9pc3N1ZXIiLCAiaWF0IjogMTY4MzAwMDAwMCwgImV4" +
		"cCI6IDE4ODMwMDAwMDAsICJ2Y3QiOiAiaHR0cHM6Ly9jcmVkZW50aWFscy5leGFtcGxl" +
		"LmNvbS9pZGVudGl0eV9jcmVkZW50aWFsIiwgIl9zZF9hbGciOiAic2hhLTI1NiIsICJj" +
		"bmYiOiB7Imp3ayI6IHsia3R5IjogIkVDIiwgImNydiI6ICJQLTI1NiIsICJ4IjogIlRD" +
		"QUVSMTladnUzT0hGNGo0VzR2ZlNWb0hJUDFJTGlsRGxzN3ZDZUdlbWMiLCAieSI6ICJa" +
		"eGppV1diWk1RR0hWV0tWUTRoYlNJaXJzVmZ1ZWNDRTZ0NGpUOUYySFpRIn19fQ.4q72_" +
		"B-1jq-uQRe1e9DAghCFTqmD29Z6qnhMXKA1Jrd___-D_6-GDUITS40EZAF1GVbBzaJtC" +
		"ae3fr5d6A7teQ~WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgImlzX292ZXJfNjUiLC" +
		"B0cnVlXQ~WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgImFkZHJlc3MiLCB7InN0cmV" +
		"ldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRvd24iLCA" +
		"icmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0~eyJhbGciOiAiRVM" +
		"yNTYiLCAidHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZC" +
		"I6ICJodHRwczovL2V4YW1wbGUuY29tL3ZlcmlmaWVyIiwgImlhdCI6IDE3ODczMjU4OD" +
		"EsICJzZF9oYXNoIjogIi1zb0x1b3Fhb1IxeU5ZVno3azBZNFh1V3lRaFZFck5vZURxaE" +
		"xkanN5dzgifQ.eHDNt7RXGsS8XGiq5iIu1N0KmoccpzMpBTDvq34gcHq7XESQ5vN3kXF" +
		"49cAUTTS2nq-DRaX9tROhJEM97jg3XQ"
	vcDraftPresentation = "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImRjK3NkLWp3dCJ9.eyJfc2QiOiBbIjA5dkt" +
		"ySk1PbHlUV00wc2pwdV9wZE9CVkJRMk0xeTNLaHBINTE1blhrcFkiLCAiMnJzakdiYUM" +
		"wa3k4bVQwcEpyUGlvV1RxMF9kYXcxc1g3NnBvVWxnQ3diSSIsICJFa084ZGhXMGRIRUp" +
		"idlVIbEVfVkNldUM5dVJFTE9pZUxaaGg3WGJVVHRBIiwgIklsRHpJS2VpWmREd3BxcEs" +
		"2WmZieXBoRnZ6NUZnbldhLXNONndxUVhDaXciLCAiSnpZakg0c3ZsaUgwUjNQeUVNZmV" +
		"adTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBLdVZ1Nnh5bUphZ3ZrRnNGWEF" +
		"iUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1SlFhSHlLVlFaVTlVZEdFMHc" +
		"1cnREc3JaemZVYW9tTG8iLCAiamRyVEU4WWNiWTRFaWZ1Z2loaUFlX0JQZWt4SlFaSUN" +
		"laVVRd1k5UXF4SSIsICJqc3U5eVZ1bHdRUWxoRmxNXzNKbHpNYVNGemdsaFFHMERwZmF" +
		"5UXdMVUs0Il0sICJpc3MiOiAiaHR0cHM6Ly9leGFtcGxlLmNvbS9pc3N1ZXIiLCAiaWF" +
		"0IjogMTY4MzAwMDAwMCwgImV4cCI6IDE4ODMwMDAwMDAsICJ2Y3QiOiAiaHR0cHM6Ly9" +
		"jcmVkZW50aWFscy5leGFtcGxlLmNvbS9pZGVudGl0eV9jcmVkZW50aWFsIiwgIl9zZF9" +
		"hbGciOiAic2hhLTI1NiJ9.RJ_OMpLyxfXFdyfGB-eObhI8M-s6yUtRqBbQK9_-xh2wG1" +
		"aJfe_ZNr43JyA2jqKVjLfslZ6oEwXjaYJn8SgkdA~WyJsa2x4RjVqTVlsR1RQVW92TU5" +
		"JdkNBIiwgImlzX292ZXJfNjUiLCB0cnVlXQ~WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9B" +
		"IiwgImFkZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxv" +
		"Y2FsaXR5IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnki" +
		"OiAiVVMifV0~"
)

func exampleKey(t testing.TB, x, y string) crypto.PublicKey {
	t.Helper()
	k, err := jose.JWK{Kty: "EC", Crv: "P-256", X: x, Y: y}.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func exampleHolder(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	d, err := base64.RawURLEncoding.DecodeString(exampleHolderD)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixedKey resolves one issuer to one key, as the wallet's trust list would.
func fixedKey(iss string, pub crypto.PublicKey) KeyFunc {
	return func(_ context.Context, gotIss, _ string) (crypto.PublicKey, error) {
		if gotIss != iss {
			return nil, fmt.Errorf("%w: issuer %q is not trusted", ErrInvalid, gotIss)
		}
		return pub, nil
	}
}

// asJSON normalises a value for comparison.
func asJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(generic)
	return string(b)
}

func TestKnownAnswerDigests(t *testing.T) {
	for _, tc := range []struct {
		name, disclosure, digest string
		claim                    string // "" for an array element
		value                    any
	}{
		{"ok/rfc9901-4.2.3-object-property", rfcDisclosure, rfcDigest, "family_name", "Möbius"},
		{"ok/rfc9901-4.2.4.2-array-element", rfcArrayDisclosure, rfcArrayDigest, "", "FR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := digestOf(tc.disclosure); got != tc.digest {
				t.Fatalf("digest %s, want %s", got, tc.digest)
			}
			d, err := decodeDisclosure(tc.disclosure)
			if err != nil {
				t.Fatal(err)
			}
			if d.hasName != (tc.claim != "") || d.name != tc.claim || d.value != tc.value {
				t.Fatalf("decoded %q %v %v", d.name, d.hasName, d.value)
			}
		})
	}
	// RFC 9901 §4.2.1: other encodings of the same claim are other
	// Disclosures with other digests, all decoding to family_name "Möbius".
	for _, variant := range []string{
		"WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd",
		"WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Yml1cyJd",
		"WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiTcO2Yml1cyIKXQ",
	} {
		d, err := decodeDisclosure(variant)
		if err != nil || d.name != "family_name" || d.value != "Möbius" {
			t.Fatalf("variant %s: %v %q %v", variant, err, d.name, d.value)
		}
		if d.digest == rfcDigest {
			t.Fatalf("variant %s has the digest of another encoding", variant)
		}
	}
}

// rfc9901Processed is RFC 9901 §5.2's Processed SD-JWT Payload.
const rfc9901Processed = `{"iss":"https://issuer.example.com","iat":1683000000,"exp":1883000000,
"sub":"user_42","nationalities":["US"],"cnf":{"jwk":{"kty":"EC","crv":"P-256",
"x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}},
"family_name":"Doe","address":{"street_address":"123 Main St","locality":"Anytown","region":"Anystate","country":"US"},
"given_name":"John"}`

// vcDraftProcessed is the SD-JWT VC draft's Figure 9 (Figure 11 lacks cnf).
const vcDraftProcessed = `{"iss":"https://example.com/issuer","iat":1683000000,"exp":1883000000,
"vct":"https://credentials.example.com/identity_credential","cnf":{"jwk":{"kty":"EC","crv":"P-256",
"x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}},
"is_over_65":true,"address":{"street_address":"123 Main St","locality":"Anytown","region":"Anystate","country":"US"}}`

func TestKnownAnswerPresentations(t *testing.T) {
	issuer := exampleKey(t, exampleIssuerX, exampleIssuerY)
	rfcOpts := func(kb *ExpectKeyBinding) VerifyOptions {
		return VerifyOptions{Key: fixedKey("https://issuer.example.com", issuer), Typ: "example+sd-jwt",
			Now: time.Unix(1748537243+60, 0), KeyBinding: kb}
	}
	vcOpts := func(kb *ExpectKeyBinding) VerifyOptions {
		return VerifyOptions{Key: fixedKey("https://example.com/issuer", issuer),
			VCT: "https://credentials.example.com/identity_credential", Now: time.Unix(1787325881+60, 0), KeyBinding: kb}
	}
	rfcKB := &ExpectKeyBinding{Audience: "https://verifier.example.org", Nonce: "1234567890"}
	vcKB := &ExpectKeyBinding{Audience: "https://example.com/verifier", Nonce: "1234567890"}
	vcProcessedNoCnf := func() string {
		var m map[string]any
		_ = json.Unmarshal([]byte(vcDraftProcessed), &m)
		delete(m, "cnf")
		b, _ := json.Marshal(m)
		return string(b)
	}()
	for _, tc := range []struct {
		name      string
		token     string
		opts      VerifyOptions
		processed string
		disclosed [][]string
		wantErr   string
	}{
		{name: "ok/rfc9901-5.2", token: rfc9901Presentation, opts: rfcOpts(rfcKB), processed: rfc9901Processed,
			disclosed: [][]string{{"address"}, {"family_name"}, {"given_name"}, {"nationalities", "0"}}},
		{name: "ok/sd-jwt-vc-figure-8", token: vcDraftPresentationKB, opts: vcOpts(vcKB), processed: vcDraftProcessed,
			disclosed: [][]string{{"address"}, {"is_over_65"}}},
		{name: "ok/sd-jwt-vc-figure-10", token: vcDraftPresentation, opts: vcOpts(nil), processed: vcProcessedNoCnf,
			disclosed: [][]string{{"address"}, {"is_over_65"}}},
		{name: "fail/rfc9901-5.2-wrong-nonce", token: rfc9901Presentation,
			opts: rfcOpts(&ExpectKeyBinding{Audience: "https://verifier.example.org", Nonce: "0987654321"}), wantErr: "wrong nonce"},
		{name: "fail/rfc9901-5.2-wrong-audience", token: rfc9901Presentation,
			opts: rfcOpts(&ExpectKeyBinding{Audience: "https://civitas.example", Nonce: "1234567890"}), wantErr: "another verifier"},
		{name: "fail/rfc9901-5.2-kb-too-old", token: rfc9901Presentation,
			opts: func() VerifyOptions { o := rfcOpts(rfcKB); o.Now = o.Now.Add(time.Hour); return o }(), wantErr: "too old"},
		{name: "fail/rfc9901-5.2-typ-is-not-sd-jwt-vc", token: rfc9901Presentation,
			opts: func() VerifyOptions { o := rfcOpts(rfcKB); o.Typ = ""; return o }(), wantErr: "wrong typ"},
		{name: "fail/sd-jwt-vc-figure-8-kb-not-expected", token: vcDraftPresentationKB, opts: vcOpts(nil), wantErr: "unexpected key binding"},
		{name: "fail/sd-jwt-vc-figure-10-kb-required", token: vcDraftPresentation, opts: vcOpts(vcKB), wantErr: "key binding JWT required"},
		{name: "fail/sd-jwt-vc-figure-10-expired", token: vcDraftPresentation,
			opts: func() VerifyOptions { o := vcOpts(nil); o.Now = time.Unix(1883000000+1, 0); return o }(), wantErr: "expired"},
		{name: "fail/sd-jwt-vc-figure-10-other-type", token: vcDraftPresentation,
			opts: func() VerifyOptions { o := vcOpts(nil); o.VCT = "urn:vn:gov:health-insurance:1"; return o }(), wantErr: "wrong credential type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Verify(context.Background(), tc.token, tc.opts)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want ErrInvalid: %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := asJSON(t, v.Claims), asJSON(t, json.RawMessage(tc.processed)); got != want {
				t.Fatalf("processed payload\n got %s\nwant %s", got, want)
			}
			if !reflect.DeepEqual(v.Disclosed, tc.disclosed) {
				t.Fatalf("disclosed %v, want %v", v.Disclosed, tc.disclosed)
			}
			if v.KeyBound != (tc.opts.KeyBinding != nil) {
				t.Fatalf("KeyBound %v", v.KeyBound)
			}
		})
	}
}

// The holder side on RFC 9901 §5.1's SD-JWT, with the holder key the RFC
// publishes: choosing the claims of §5.2 gives the same Disclosures, and the
// new presentation verifies.
func TestKnownAnswerHolder(t *testing.T) {
	s, err := Parse(rfc9901Issuance)
	if err != nil {
		t.Fatal(err)
	}
	wantPaths := [][]string{{"given_name"}, {"family_name"}, {"email"}, {"phone_number"}, {"phone_number_verified"},
		{"address"}, {"birthdate"}, {"updated_at"}, {"nationalities", "0"}, {"nationalities", "1"}}
	if got := s.Disclosable(); !reflect.DeepEqual(got, wantPaths) {
		t.Fatalf("disclosable %v", got)
	}
	if got := s.Claims()["nationalities"]; asJSON(t, got) != `["US","DE"]` {
		t.Fatalf("nationalities %v", got)
	}
	chosen := map[string]bool{"given_name": true, "family_name": true, "address": true, "nationalities/0": true}
	now := time.Unix(1748537243, 0)
	pres, err := s.Present(func(p []string) bool { return chosen[strings.Join(p, "/")] },
		&KeyBinding{Signer: exampleHolder(t), Audience: "https://verifier.example.org", Nonce: "1234567890", IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	rfcParts, _ := split(rfc9901Presentation, Limits{}.withDefaults())
	ourParts, _ := split(pres, Limits{}.withDefaults())
	slices.Sort(rfcParts.disclosures)
	slices.Sort(ourParts.disclosures)
	if !slices.Equal(rfcParts.disclosures, ourParts.disclosures) {
		t.Fatalf("disclosures differ from RFC 9901 §5.2")
	}
	v, err := Verify(context.Background(), pres, VerifyOptions{
		Key: fixedKey("https://issuer.example.com", exampleKey(t, exampleIssuerX, exampleIssuerY)),
		Typ: "example+sd-jwt", Now: now,
		KeyBinding: &ExpectKeyBinding{Audience: "https://verifier.example.org", Nonce: "1234567890"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := asJSON(t, v.Claims), asJSON(t, json.RawMessage(rfc9901Processed)); got != want {
		t.Fatalf("processed payload\n got %s\nwant %s", got, want)
	}
}
