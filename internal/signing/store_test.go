package signing_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The service's SQL lives in store.go, in helpers run in the caller's
// transaction (or on the reader pool for a read of its own): no other file
// of the package writes a statement.
func TestSQLLivesInTheStore(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	statement := regexp.MustCompile(`(?i)^\s*(SELECT|INSERT|UPDATE|DELETE)\s|\b(FROM|INTO)\s+signing_`)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "store.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && statement.MatchString(strings.Trim(lit.Value, "`\"")) {
				t.Errorf("%s: SQL outside store.go: %.60s", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	}
}
