package detectors

import (
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestQueryVariablesAreDeclared checks that a query reads only the
// thresholds its rule declares, with the same default as the Go
// declaration: the defaults are written in two places, and a query reading
// another rule's variable would see whatever that rule last set on the
// connection.
func TestQueryVariablesAreDeclared(t *testing.T) {
	ds, err := Registry(Config{})
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]map[string]float64{} // query file → threshold → default
	for _, d := range ds {
		info := d.(Describer).Describe()
		file := strings.Replace(info.Name, ".", "_", 1) + ".sql"
		th := map[string]float64{}
		for _, x := range info.Thresholds {
			th[x.Name] = x.Default
		}
		declared[file] = th
	}
	read := regexp.MustCompile(`getvariable\('([a-z_0-9]+)'\)`)
	withDefault := regexp.MustCompile(`coalesce\(getvariable\('([a-z_0-9]+)'\),\s*([0-9.eE+-]+)\)`)
	files, err := fs.Glob(queries, "queries/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range files {
		b, err := queries.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		file := strings.TrimPrefix(path, "queries/")
		th, ok := declared[file]
		for _, m := range read.FindAllStringSubmatch(text, -1) {
			if !ok {
				t.Errorf("%s reads variable %s but is no rule's query", file, m[1])
				continue
			}
			if _, ok := th[m[1]]; !ok {
				t.Errorf("%s reads variable %s, which its rule does not declare", file, m[1])
			}
		}
		for _, m := range withDefault.FindAllStringSubmatch(text, -1) {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Errorf("%s: default %q of %s: %v", file, m[2], m[1], err)
				continue
			}
			if def, ok := th[m[1]]; ok && def != v {
				t.Errorf("%s: %s defaults to %v in SQL and %v in Go", file, m[1], v, def)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("only %d defaulted variables found: the pattern no longer matches the queries", checked)
	}
}
