// Package srccheck holds tests that read the module's own source for rules
// go vet does not know.
package srccheck

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestReadsCheckErr: no Scan drops its error, and every loop over an iterator's Next (database
// rows, Arrow record readers) is followed, in the same function, by a
// check of that iterator's Err. A loop ends when Next returns false, which
// is also how a failed read ends it: without the check, a query that broke
// off half-way is read as a short, complete answer.
func TestReadsCheckErr(t *testing.T) {
	fset := token.NewFileSet()
	loops := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "../.." && (strings.HasPrefix(name, ".") || name == "out" || name == "tools") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var body *ast.BlockStmt
			switch fn := n.(type) {
			case *ast.FuncDecl:
				body = fn.Body
			case *ast.FuncLit:
				body = fn.Body
			}
			if body == nil {
				return true
			}
			for _, call := range ignoredScans(body) {
				t.Errorf("%s: the error of %s is dropped", fset.Position(call.Pos()), text(fset, call.Fun))
			}
			for _, it := range uncheckedIterators(fset, body) {
				t.Errorf("%s: the loop over %s.Next() is not followed by a check of %s.Err()", fset.Position(it.Pos()), text(fset, it), text(fset, it))
			}
			loops++
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if loops == 0 {
		t.Fatal("no function found: the walk read no source")
	}
}

// uncheckedIterators returns the iterators of body's own `for x.Next()`
// loops (not those of the functions inside it) where the next thing body
// does with x after the loop is not a call of x.Err(): x assigned again,
// looped over again, or nothing.
func uncheckedIterators(fset *token.FileSet, body *ast.BlockStmt) []ast.Expr {
	type use struct {
		pos  token.Pos
		it   string
		kind int // 0 the end of a loop, 1 a check, 2 an assignment
		expr ast.Expr
	}
	var uses []use
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			return false // its loops are its own
		case *ast.ForStmt:
			if it := methodReceiver(x.Cond, "Next"); it != nil {
				uses = append(uses, use{x.End(), text(fset, it), 0, it})
			}
		case *ast.CallExpr:
			if it := methodReceiver(x, "Err"); it != nil {
				uses = append(uses, use{x.Pos(), text(fset, it), 1, it})
			}
		case *ast.AssignStmt:
			for _, l := range x.Lhs {
				uses = append(uses, use{x.Pos(), text(fset, l), 2, l})
			}
		}
		return true
	})
	sort.SliceStable(uses, func(i, j int) bool { return uses[i].pos < uses[j].pos })
	var out []ast.Expr
	for i, u := range uses {
		if u.kind != 0 {
			continue
		}
		ok := false
		for _, v := range uses[i+1:] {
			if v.it == u.it {
				ok = v.kind == 1
				break
			}
		}
		if !ok {
			out = append(out, u.expr)
		}
	}
	return out
}

// ignoredScans returns the calls of a Scan method that are statements of
// body's own, their error dropped: a failed read would leave the zero
// values a test or a report then takes for data.
func ignoredScans(body *ast.BlockStmt) []*ast.CallExpr {
	var out []*ast.CallExpr
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ExprStmt:
			if call, ok := x.X.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Scan" {
					out = append(out, call)
				}
			}
		}
		return true
	})
	return out
}

// methodReceiver returns x of a call x.name() with no arguments, else nil.
func methodReceiver(e ast.Expr, name string) ast.Expr {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return nil
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return nil
	}
	return sel.X
}

func text(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	printer.Fprint(&b, fset, e)
	return b.String()
}
