package wallet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/registry"
)

func TestBuiltinCatalogue(t *testing.T) {
	c, err := LoadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"citizen_id_card", "health_insurance_card", "driving_licence", "vehicle_registration", "birth_certificate",
		"permanent_residence", "marital_status", "criminal_record", "business_registration", "seal_registration"} {
		ty, err := c.Type(code)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		for _, l := range []string{"vi", "en", "ar"} {
			if ty.Name(l) == "" {
				t.Errorf("%s has no %s name", code, l)
			}
		}
	}
	if _, err := c.Type("nothing"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown type: %v", err)
	}
	id, _ := c.Type("citizen_id_card")
	if !id.IssuedBy(registry.Police) || id.IssuedBy(registry.Tax) {
		t.Fatal("the citizen ID card is the police's to issue, not the tax office's")
	}
	at := time.Date(2026, 2, 28, 9, 0, 0, 0, time.UTC)
	if got := id.ExpiresAt(at); !got.Equal(time.Date(2036, 2, 28, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("P10Y from %v: %v", at, got)
	}
	if vr, _ := c.Type("vehicle_registration"); !vr.ExpiresAt(at).IsZero() {
		t.Fatal("a vehicle registration does not expire")
	}
}

func TestCatalogueFromDataFiles(t *testing.T) {
	good := `{"code": "fishing_licence", "names": {"vi": "Giấy phép khai thác thủy sản", "en": "Fishing licence", "ar": "رخصة الصيد"},
		"holder": "person", "issuers": ["people_committee"], "validity": "P1Y6M", "offline": false, "source": "",
		"claims": [{"name": "vessel", "type": "string", "required": true, "labels": {"vi": "Tàu", "en": "Vessel", "ar": "السفينة"}}]}`
	for _, tc := range []struct {
		name, file, body, want string
	}{
		{"ok/new type", "fishing_licence.json", good, ""},
		{"ok/replaces a built-in type", "criminal_record.json", strings.ReplaceAll(good, "fishing_licence", "criminal_record"), ""},
		{"fail/code and file name differ", "other.json", good, "match the file name"},
		{"fail/unknown field", "fishing_licence.json", strings.Replace(good, `"offline"`, `"colour": 1, "offline"`, 1), "unknown field"},
		{"fail/bad validity", "fishing_licence.json", strings.Replace(good, "P1Y6M", "1 year", 1), "validity"},
		{"fail/no Arabic name", "fishing_licence.json", strings.Replace(good, `"ar": "رخصة الصيد"`, `"ar": " "`, 1), "no ar name"},
		{"fail/unknown agency kind", "fishing_licence.json", strings.Replace(good, "people_committee", "ministry_of_magic", 1), "agency kind"},
		{"fail/reserved claim", "fishing_licence.json", strings.Replace(good, `"name": "vessel"`, `"name": "iss"`, 1), "registered JWT claim"},
		{"fail/population source for an organisation", "fishing_licence.json", strings.Replace(strings.Replace(good, `"source": ""`, `"source": "population"`, 1), `"holder": "person"`, `"holder": "organisation"`, 1), "source"},
		{"fail/not JSON", "fishing_licence.json", "{", "fishing_licence.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadCatalogue(dir)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want an error with %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			code := strings.TrimSuffix(tc.file, ".json")
			if ty, err := c.Type(code); err != nil || ty.Claims[0].Name != "vessel" {
				t.Fatalf("%s: %+v %v", code, ty, err)
			}
			if len(c.Types()) < 10 {
				t.Fatal("the built-in types are gone")
			}
		})
	}
}

func TestCheckClaims(t *testing.T) {
	c, _ := LoadCatalogue("")
	hi, _ := c.Type("health_insurance_card")
	ok := map[string]any{"card_number": "DN4797912345678", "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17", "sex": "male", "hospital": "Bệnh viện Đa khoa tỉnh"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		key    string
	}{
		{"ok/all required", ok, ""},
		{"ok/with an optional one", with("benefit_level", "80%"), ""},
		{"fail/required missing", with("hospital", nil), "wallet.error.claim_missing"},
		{"fail/unknown claim", with("blood_type", "O"), "wallet.error.claim_unknown"},
		{"fail/not a date", with("birth_date", "17/05/1990"), "wallet.error.claim_bad"},
		{"fail/not a string", with("full_name", 12.0), "wallet.error.claim_bad"},
		{"fail/too long", with("hospital", strings.Repeat("x", 501)), "wallet.error.claim_bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := hi.CheckClaims(tc.claims)
			if key, _ := kernel.ErrorKey(err); (tc.key == "" && err != nil) || (tc.key != "" && key != tc.key) {
				t.Fatalf("got %v, want %q", err, tc.key)
			}
		})
	}
}
