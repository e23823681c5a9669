package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// humanLayouts are pieces of time layouts written for people. A page
// writes dates and times through internal/web/format.go (web.FormatDate,
// web.FormatDateTime, {{$.Date}}, {{$.DateTime}}), which knows the reader's
// language, the province's zone and right-to-left text; a layout of its own
// in a capability is a page the layer misses.
var humanLayouts = []string{"02/01/2006", "01/02/2006", "2/1/2006", "Jan 2006", "15:04"}

// machineLayouts mark a literal as a timestamp for machines (RFC 3339 and
// its kin), which may name 15:04.
var machineLayouts = []string{"2006-01-02T15:04"}

// allowedLayouts are the literals, by file, that write or read a human
// layout and are not pages. Each says why. An entry that no longer occurs
// fails the test, so the list only shrinks.
var allowedLayouts = map[string]string{
	"internal/wallet/render.go " + strconv.Quote("02/01/2006"): "the wallet document's PDF: a printed form, in the layout of the paper original",
	"internal/wallet/wallet.go " + strconv.Quote("02/01/2006"): "argument of the error wallet.error.record_not_yet_valid: the service does not know the reader's language, " +
		"and the catalogue writes arguments with fmt (to move once error arguments can carry a time)",
	"internal/privacy/pdf.go " + strconv.Quote("02/01/2006 15:04"):                 "the personal-data export's PDF, a file",
	"internal/privacy/breach.go " + strconv.Quote("15:04 ngày 02/01/2006 (UTC+7)"): "the breach notification to the authority (Decree 13/2023, form 03), a Vietnamese document, not a page",
	"internal/portal/payment/receipt.go " + strconv.Quote("02/01/2006"):            "the payment receipt's PDF",
	"internal/portal/payment/receipt.go " + strconv.Quote("15:04 02/01/2006"):      "the payment receipt's PDF",
	"internal/portal/payment/statement.go " + strconv.Quote("02/01/2006"):          "reads the dates of a bank's statement file (input, not output)",
	"internal/portal/payment/statement.go " + strconv.Quote("2/1/2006"):            "reads the dates of a bank's statement file (input, not output)",
	"internal/learning/http_desk.go " + strconv.Quote("15:04"):                     "reads the time of day an <input type=time> sends (input, not output)",
}

// humanLayoutUses lists, as "file:line literal", the string literals of the
// non-test Go files of the capabilities and of app that hold a human time
// layout, and the allowedLayouts keys they match.
func humanLayoutUses(t *testing.T) (found []string, matched map[string]bool) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	matched = map[string]bool{}
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if l := layerOf(top("civitas/" + rel)); l != layerCapability && l != layerWiring {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !human(s) {
				return true
			}
			key := rel + " " + strconv.Quote(s)
			if _, ok := allowedLayouts[key]; ok {
				matched[key] = true
				return true
			}
			found = append(found, rel+":"+strconv.Itoa(fset.Position(lit.Pos()).Line)+" "+strconv.Quote(s))
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk must see the tree, or the test would pass on nothing.
	if files < 100 {
		t.Fatalf("only %d files read: the walk is broken", files)
	}
	sort.Strings(found)
	return found, matched
}

func human(s string) bool {
	for _, m := range machineLayouts {
		if strings.Contains(s, m) {
			return false
		}
	}
	for _, h := range humanLayouts {
		if strings.Contains(s, h) {
			return true
		}
	}
	return false
}

// TestPagesFormatTimesThroughTheLayer holds issue 16's rule: no capability
// writes a date or a time for people with a layout of its own; pages go
// through the formatting layer (docs/ux.md, "Human values").
func TestPagesFormatTimesThroughTheLayer(t *testing.T) {
	found, matched := humanLayoutUses(t)
	for _, f := range found {
		t.Errorf("%s: a time layout for people; write it with web.FormatDate/FormatDateTime or {{$.Date}}/{{$.DateTime}} (internal/web/format.go)", f)
	}
	if len(found) > 0 {
		t.Logf("%d human time layouts outside the formatting layer", len(found))
	}
	for key := range allowedLayouts {
		if !matched[key] {
			t.Errorf("allowedLayouts names %s, which no longer occurs: delete it", key)
		}
	}
}

// TestHumanLayoutRule: the rule tells layouts for people from timestamps
// for machines.
func TestHumanLayoutRule(t *testing.T) {
	for s, want := range map[string]bool{
		"02/01/2006 15:04": true, "02/01/2006": true, "2 Jan 2006 15:04": true, "15:04": true,
		"2006-01-02 15:04": true, "2006-01-02 15:04:05 -07:00": true,
		"2006-01-02T15:04:05-07:00": false, "2006-01-02T15:04:05.000000Z07:00": false, "2006-01-02": false, "20060102150405": false,
	} {
		if got := human(s); got != want {
			t.Errorf("human(%q) = %v, want %v", s, got, want)
		}
	}
}
