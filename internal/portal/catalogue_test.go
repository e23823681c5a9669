package portal_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/portal"
	"civitas/internal/wallet"
)

func walletTypes(t testing.TB) []string {
	t.Helper()
	c, err := wallet.LoadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ty := range c.Types() {
		out = append(out, ty.Code)
	}
	return out
}

// TestShippedCatalogue: every shipped procedure is valid in full, at least
// 25 of them and the two integrated ones, each result a wallet type.
func TestShippedCatalogue(t *testing.T) {
	c, err := portal.LoadCatalogue("", portal.CatalogueOptions{WalletTypes: walletTypes(t)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Procedures()); n < 25 {
		t.Fatalf("%d procedures", n)
	}
	for _, code := range []string{"birth_integrated", "death_integrated"} {
		p, ok := c.Procedure(code)
		if !ok || !p.Integrated || len(p.Parts) != 3 || !p.Paperless() {
			t.Errorf("%s: %+v", code, p)
		}
	}
	p, _ := c.Procedure("birth_integrated")
	if pt, _ := p.Part("insurance"); pt.Result != "health_insurance_card" || len(pt.After) != 1 {
		t.Errorf("insurance part %+v", pt)
	}
}

// TestCatalogueFromTheDataDirectory: a file adds a procedure or replaces a
// shipped one; a file breaking the no-paper rule stops the load.
func TestCatalogueFromTheDataDirectory(t *testing.T) {
	types := walletTypes(t)
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const steps = `"agency":{"kind":"people_committee","level":"commune"},"steps":[{"code":"decide","role":"chairman"}]`
	write("dog_licence.json", `{"code":"dog_licence","names":{"vi":"Nuôi chó","en":"Dog licence","ar":"رخصة كلب"},`+steps+`,
		"fee":20000,"sla_days":5,"integrated":false,"inputs":[{"name":"full_name","source":"registry:population.person","required":true}]}`)
	write("birth_registration.json", `{"code":"birth_registration","names":{"vi":"Khai sinh","en":"Birth","ar":"ولادة"},`+steps+`,
		"fee":0,"sla_days":2,"integrated":false,"inputs":[{"name":"full_name","source":"registry:population.person"}]}`)
	c, err := portal.LoadCatalogue(dir, portal.CatalogueOptions{WalletTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := c.Procedure("dog_licence"); !ok || p.Fee != 20000 {
		t.Error("the new procedure is missing")
	}
	if p, _ := c.Procedure("birth_registration"); p.SLADays != 2 {
		t.Error("the shipped procedure was not replaced")
	}
	write("paper.json", `{"code":"paper","names":{"vi":"Giấy","en":"Paper","ar":"ورق"},`+steps+`,
		"fee":0,"sla_days":5,"integrated":false,"inputs":[{"name":"citizen_id_card","source":"upload"}]}`)
	if _, err := portal.LoadCatalogue(dir, portal.CatalogueOptions{WalletTypes: types}); err == nil || !strings.Contains(err.Error(), "wallet:citizen_id_card") {
		t.Errorf("a paper procedure loaded: %v", err)
	}
}

func TestValidate(t *testing.T) {
	types := walletTypes(t)
	base := func() portal.Procedure {
		return portal.Procedure{Code: "p_one", Name: "P", SLADays: 3, Inputs: []portal.Input{{Name: "full_name", Source: "registry:population.person"}}}
	}
	for name, tc := range map[string]struct {
		edit func(*portal.Procedure)
		want string
	}{
		"ok/minimal":        {func(*portal.Procedure) {}, ""},
		"fail/bad code":     {func(p *portal.Procedure) { p.Code = "P One" }, "code"},
		"fail/negative fee": {func(p *portal.Procedure) { p.Fee = -1 }, "fee"},
		"fail/wallet name mismatch": {func(p *portal.Procedure) {
			p.Inputs[0] = portal.Input{Name: "card", Source: "wallet:health_insurance_card"}
		}, "named by its document type"},
		"fail/unknown wallet type":   {func(p *portal.Procedure) { p.Inputs[0] = portal.Input{Name: "zz", Source: "wallet:zz"} }, "no wallet document type"},
		"fail/field not in service":  {func(p *portal.Procedure) { p.Inputs[0].Name = "hospital" }, "has no field"},
		"fail/select without option": {func(p *portal.Procedure) { p.Inputs[0] = portal.Input{Name: "x", Source: "form", Type: "select"} }, "options"},
		"fail/party unnamed":         {func(p *portal.Procedure) { p.Inputs[0].Party = "spouse" }, "party"},
		"fail/bad source":            {func(p *portal.Procedure) { p.Inputs[0].Source = "fax" }, "source must be"},
		"fail/integrated alone":      {func(p *portal.Procedure) { p.Integrated = true; p.Parts = []portal.Part{{Code: "a"}} }, "two parts"},
		"fail/cycle": {func(p *portal.Procedure) {
			st := []portal.Step{{Code: "decide", Role: "chairman"}}
			ag := portal.Agency{Kind: "police", Level: "commune"}
			p.Integrated = true
			p.Parts = []portal.Part{{Code: "a", After: []string{"b"}, Steps: st, Agency: ag}, {Code: "b", After: []string{"a"}, Steps: st, Agency: ag}}
		}, "cycle"},
		"fail/unknown effect": {func(p *portal.Procedure) {
			p.Agency, p.Steps, p.Effect = portal.Agency{Kind: "police", Level: "commune"}, []portal.Step{{Code: "decide", Role: "police_officer"}}, "magic"
		}, "effect"},
		"fail/no deciding role": {func(p *portal.Procedure) {
			p.Agency, p.Steps = portal.Agency{Kind: "police", Level: "commune"}, []portal.Step{{Code: "receive", Role: "police_officer"}}
		}, "decide"},
	} {
		t.Run(name, func(t *testing.T) {
			p := base()
			tc.edit(&p)
			probs := portal.Validate(p, portal.ValidateOptions{WalletTypes: types})
			if tc.want == "" {
				if len(probs) > 0 {
					t.Fatalf("problems: %v", probs)
				}
				return
			}
			found := false
			for _, pr := range probs {
				found = found || strings.Contains(pr.String(), tc.want)
			}
			if !found {
				t.Errorf("%v lacks %q", probs, tc.want)
			}
		})
	}
}

// FuzzCheck: any definition parses or is refused, and checks without panic.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"code":"x_one","name":"X","fee":0,"sla_days":1,"integrated":false,"inputs":[{"name":"birth_certificate","source":"upload"}]}`))
	f.Add([]byte(`{"code":"p","names":{"vi":"a"},"parts":[{"code":"a","after":["a"]}],"inputs":[{"name":"a","source":"wallet:"}]}`))
	types := []string{"birth_certificate"}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := portal.ParseProcedure(b)
		if err != nil {
			return
		}
		_ = portal.Validate(p, portal.ValidateOptions{WalletTypes: types})
		_ = portal.Validate(p, portal.ValidateOptions{Full: true})
	})
}
