package main

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "seal.pdf")
	t.Run("ok/new file, its mode, nothing beside it", func(t *testing.T) {
		if err := writeFileAtomic(name, []byte("first"), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(name)
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Fatalf("%v %v", st, err)
		}
	})
	t.Run("fail/a failed write leaves the old file and no temporary", func(t *testing.T) {
		err := writeAtomic(name, 0o644, func(f *os.File) error {
			f.WriteString("half of the new")
			return errors.New("the key backend went away")
		})
		if err == nil {
			t.Fatal("no error")
		}
		if b, _ := os.ReadFile(name); string(b) != "first" {
			t.Fatalf("the file asked holds %q", b)
		}
	})
	t.Run("ok/replaced whole, private when asked", func(t *testing.T) {
		if err := writeFileAtomic(name, []byte("second"), 0o600); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(name)
		if b, _ := os.ReadFile(name); string(b) != "second" || st.Mode().Perm() != 0o600 {
			t.Fatalf("%q %v", b, st.Mode())
		}
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left beside the file: %v", entries)
	}
	t.Run("fail/no such directory", func(t *testing.T) {
		if err := writeFileAtomic(filepath.Join(dir, "no", "x"), nil, 0o644); err == nil {
			t.Fatal("no error")
		}
	})
}

// Every file a command writes goes through writeAtomic: no other code of
// the command creates, writes whole or renames files (appending to a
// witness log is not writing a file whole).
func TestCommandsWriteFilesAtomically(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	banned := map[string]bool{"WriteFile": true, "Create": true, "CreateTemp": true, "Rename": true}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "atomicfile.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, isID := sel.X.(*ast.Ident); isID && id.Name == "os" && banned[sel.Sel.Name] {
				t.Errorf("%s: os.%s: write files with writeAtomic", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}
