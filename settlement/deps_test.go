package settlement_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDependencies keeps the engine pure: the standard library, go-yaml (and
// its parser, for line numbers) and
// contract only — no DuckDB, Arrow or Gin (STYLE: pure logic).
func TestDependencies(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"github.com/goccy/go-yaml": true, "github.com/medaudit/medaudit/contract": true}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !allowed[path] && !strings.HasPrefix(path, "github.com/goccy/go-yaml/") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
