package settlement

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// FieldError is one problem found in a policy file. LoadPolicies joins all of
// them with errors.Join.
type FieldError struct {
	Line   int    // 1-based line of the field in the file (of its nearest enclosing field when it is missing), 0 when unknown
	Region string // region code, "" for file-level fields; "611002[1]" for the second dated version of 611002
	Path   string // field path inside the region (or the file), e.g. "employee.inpatient.levels.3.bands[1].ratio"
	Msg    string // what is wrong
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Region != "" {
		b.WriteString("region ")
		b.WriteString(e.Region)
		if e.Path != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// errList collects FieldErrors for one region (or the file).
type errList struct {
	region string
	errs   *[]error
}

func (l errList) add(path, format string, args ...any) {
	*l.errs = append(*l.errs, &FieldError{Region: l.region, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (l errList) forRegion(code string) errList { return errList{region: code, errs: l.errs} }

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// decode fills rv from a generic YAML value (decoded with yaml.UseOrderedMap)
// and reports every unknown field, missing required field and type mismatch.
//
// Struct fields use the yaml tag for their key; `policy:"required"` marks a
// key that must be present.
// A slice of structs whose first field is `Key string` (yaml:"-") decodes a
// mapping in file order: Key is the entry's key, the other fields come from
// the entry's value.
func decode(l errList, path string, node any, rv reflect.Value) {
	switch rv.Kind() {
	case reflect.Pointer:
		if node == nil {
			return
		}
		nv := reflect.New(rv.Type().Elem())
		decode(l, path, node, nv.Elem())
		rv.Set(nv)
	case reflect.Struct:
		m, ok := node.(yaml.MapSlice)
		if !ok {
			l.add(path, "must be a mapping, got %s", describe(node))
			return
		}
		decodeStruct(l, path, m, rv)
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Struct && isKeyed(rv.Type().Elem()) {
			m, ok := node.(yaml.MapSlice)
			if !ok {
				l.add(path, "must be a mapping, got %s", describe(node))
				return
			}
			out := reflect.MakeSlice(rv.Type(), len(m), len(m))
			for i, it := range m {
				key := fmt.Sprint(it.Key)
				el := out.Index(i)
				el.Field(0).SetString(key)
				sub, ok := it.Value.(yaml.MapSlice)
				if !ok {
					l.add(join(path, key), "must be a mapping, got %s", describe(it.Value))
					continue
				}
				decodeStruct(l, join(path, key), sub, el)
			}
			rv.Set(out)
			return
		}
		s, ok := node.([]any)
		if !ok {
			l.add(path, "must be a list, got %s", describe(node))
			return
		}
		out := reflect.MakeSlice(rv.Type(), len(s), len(s))
		for i, v := range s {
			decode(l, fmt.Sprintf("%s[%d]", path, i), v, out.Index(i))
		}
		rv.Set(out)
	case reflect.String:
		switch v := node.(type) {
		case string:
			rv.SetString(v)
		case time.Time: // an unquoted date
			rv.SetString(v.Format(time.DateOnly))
		default:
			l.add(path, "must be a string, got %s", describe(node))
		}
	case reflect.Bool:
		v, ok := node.(bool)
		if !ok {
			l.add(path, "must be true or false, got %s", describe(node))
			return
		}
		rv.SetBool(v)
	case reflect.Int64, reflect.Int:
		var n int64
		switch v := node.(type) {
		case int:
			n = int64(v)
		case int64:
			n = v
		case uint64:
			if v > math.MaxInt64 {
				l.add(path, "number too large")
				return
			}
			n = int64(v)
		default:
			l.add(path, "must be an integer, got %s", describe(node))
			return
		}
		rv.SetInt(n)
	default:
		panic("settlement: decode: unsupported kind " + rv.Kind().String())
	}
}

func isKeyed(t reflect.Type) bool {
	return t.NumField() > 0 && t.Field(0).Name == "Key" && t.Field(0).Type.Kind() == reflect.String
}

func decodeStruct(l errList, path string, m yaml.MapSlice, rv reflect.Value) {
	t := rv.Type()
	seen := make(map[string]bool, len(m))
	for _, it := range m {
		key := fmt.Sprint(it.Key)
		if it.Value != nil {
			seen[key] = true // an explicit null counts as absent
		}
		f, ok := fieldByTag(t, key)
		if !ok {
			l.add(join(path, key), "unknown field")
			continue
		}
		decode(l, join(path, key), it.Value, rv.FieldByIndex(f.Index))
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Tag.Get("policy") != "required" {
			continue
		}
		if name := tagName(f); !seen[name] {
			l.add(join(path, name), "missing (required)")
		}
	}
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if n := tagName(f); n != "" && n != "-" && n == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case yaml.MapSlice:
		return "a mapping"
	case []any:
		return "a list"
	case float64:
		return "the number " + strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// addLines sets the Line of every FieldError from the file's syntax tree:
// the line of the field's key, or of the deepest enclosing field present
// (a missing field is reported where its parent is).
func addLines(src []byte, errs []error) {
	f, err := parser.ParseBytes(src, 0)
	if err != nil || len(f.Docs) == 0 {
		return
	}
	root := f.Docs[0].Body
	for _, e := range errs {
		fe, ok := e.(*FieldError)
		if !ok {
			continue
		}
		var steps []string
		if fe.Region != "" {
			code, idx, _ := strings.Cut(fe.Region, "[")
			steps = append(steps, "regions", code)
			if idx != "" {
				steps = append(steps, "["+idx)
			}
		}
		fe.Line = lineOf(root, append(steps, pathSteps(fe.Path)...))
	}
}

// pathSteps splits "a.b[1].c" into "a", "b", "[1]", "c".
func pathSteps(path string) []string {
	var out []string
	for part := range strings.SplitSeq(path, ".") {
		for part != "" {
			i := strings.Index(part[1:], "[")
			if i < 0 {
				out = append(out, part)
				break
			}
			out = append(out, part[:i+1])
			part = part[i+1:]
		}
	}
	return out
}

// lineOf follows steps (mapping keys, "[i]" sequence indexes) from n and
// returns the line of the last one found.
func lineOf(n ast.Node, steps []string) int {
	line := 0
	if n != nil && n.GetToken() != nil {
		line = n.GetToken().Position.Line
	}
	for _, step := range steps {
		n = unwrap(n)
		var next ast.Node
		switch v := n.(type) {
		case *ast.MappingValueNode: // a mapping of one entry
			if v.Key != nil && v.Key.GetToken() != nil && v.Key.GetToken().Value == step {
				next, line = v.Value, v.Key.GetToken().Position.Line
			}
		case *ast.MappingNode:
			for _, mv := range v.Values {
				if mv.Key != nil && mv.Key.GetToken() != nil && mv.Key.GetToken().Value == step {
					next, line = mv.Value, mv.Key.GetToken().Position.Line
					break
				}
			}
		case *ast.SequenceNode:
			if i, err := strconv.Atoi(strings.Trim(step, "[]")); err == nil && strings.HasPrefix(step, "[") && i >= 0 && i < len(v.Values) {
				next = v.Values[i]
				if t := unwrap(next); t != nil && t.GetToken() != nil {
					line = t.GetToken().Position.Line
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// unwrap looks through anchors and tags.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}
