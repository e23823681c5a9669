package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/i18n"
)

// TestEveryErrorKeyIsTranslated finds every message key passed to kernel.E
// in the source and checks the catalogue has it, so no user ever sees a raw key.
func TestEveryErrorKeyIsTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`kernel\.E\(kernel\.\w+,\s*"([^"]+)"`)
	found := 0
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				found++
				if !cat.Has(m[1]) {
					t.Errorf("%s: message key %q is not in the catalogue", path, m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found < 10 {
		t.Fatalf("found only %d keys: the pattern no longer matches the code", found)
	}
}
