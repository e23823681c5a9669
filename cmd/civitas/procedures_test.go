package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcedures holds the fixed contract of the catalogue:
// civitas procedures list --data DIR --json (one object a line: code, name,
// fee, sla_days, integrated, inputs of {name, source}); civitas procedures
// check FILE.json (exit 0 when valid, else 1 and a line per problem naming
// where the state holds an upload's data); every listed line checks.
func TestProcedures(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := civitas(t, "procedures", "list", "--data", dir, "--json")
	if code != exitOK {
		t.Fatalf("list: exit %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 27 {
		t.Fatalf("%d procedures, want at least 25 and two integrated", len(lines))
	}
	integrated := 0
	for i, l := range lines {
		var p struct {
			Code       string `json:"code"`
			Name       string `json:"name"`
			Fee        *int64 `json:"fee"`
			SLA        *int   `json:"sla_days"`
			Integrated bool   `json:"integrated"`
			Inputs     []struct {
				Name   string `json:"name"`
				Source string `json:"source"`
			} `json:"inputs"`
		}
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.Code == "" || p.Name == "" || p.Fee == nil || p.SLA == nil || len(p.Inputs) == 0 {
			t.Fatalf("line %d: %s (%v)", i+1, l, err)
		}
		for _, in := range p.Inputs {
			ok := in.Source == "form" || in.Source == "upload" || strings.HasPrefix(in.Source, "registry:") || strings.HasPrefix(in.Source, "wallet:")
			if !ok || in.Name == "" {
				t.Errorf("%s: input %+v", p.Code, in)
			}
		}
		if p.Integrated {
			integrated++
		}
		f := filepath.Join(t.TempDir(), p.Code+".json")
		if err := os.WriteFile(f, []byte(l), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out, errs := civitas(t, "procedures", "check", f); code != exitOK {
			t.Errorf("%s: the listed line does not check: exit %d %s %s", p.Code, code, out, errs)
		}
	}
	if integrated < 2 {
		t.Errorf("%d integrated procedures", integrated)
	}

	for _, tc := range []struct {
		name, def string
		code      int
		want      []string
	}{
		{"ok/a new procedure", `{"code":"dog_licence","name":"Đăng ký nuôi chó","fee":0,"sla_days":5,"integrated":false,
			"inputs":[{"name":"full_name","source":"registry:population.person"},{"name":"vaccination_record","source":"upload"}]}`, exitOK, nil},
		{"fail/a wallet document as an upload", `{"code":"x_one","name":"X","fee":0,"sla_days":1,"integrated":false,
			"inputs":[{"name":"birth_certificate","source":"upload"}]}`, exitFailure, []string{`x_one: input "birth_certificate"`, "wallet:birth_certificate"}},
		{"fail/a registry field as an upload", `{"code":"x_two","name":"X","fee":0,"sla_days":1,"integrated":false,
			"inputs":[{"name":"household_id","source":"upload"},{"name":"card_number","source":"upload"}]}`, exitFailure,
			[]string{"registry:population.person", "registry:insurance.card"}},
		{"fail/a catalogue input as an upload", `{"code":"x_three","name":"X","fee":0,"sla_days":1,"integrated":false,
			"inputs":[{"name":"driving_licence","source":"upload"}]}`, exitFailure, []string{"wallet:driving_licence"}},
		{"fail/unknown service", `{"code":"x_four","name":"X","fee":0,"sla_days":1,"integrated":false,
			"inputs":[{"name":"full_name","source":"registry:nowhere"}]}`, exitFailure, []string{`no registry service "nowhere"`}},
		{"fail/missing members", `{"code":"x_five","inputs":[]}`, exitFailure, []string{"name", "inputs are missing"}},
		{"fail/not json", `{"code":`, exitFailure, []string{"definition 1"}},
		{"fail/unknown member", `{"code":"x_six","name":"X","fee":0,"sla_days":1,"integrated":false,"inputs":[{"name":"a","source":"form"}],"paper":true}`,
			exitFailure, []string{"paper"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "def.json")
			if err := os.WriteFile(f, []byte(tc.def), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errs := civitas(t, "procedures", "check", f)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s %s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q lacks %q", out, w)
				}
			}
			if tc.code == exitOK && out != "" {
				t.Errorf("a valid definition printed %q", out)
			}
		})
	}
}
