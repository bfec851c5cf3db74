package detectors

import (
	"context"
	"reflect"
	"sort"
	"testing"
)

// TestEveryRuleDeclaresItsPopulation keeps rulePopulations equal to the
// registry: a new rule must say what it judges and how much of it it may flag.
func TestEveryRuleDeclaresItsPopulation(t *testing.T) {
	ds, err := Registry(Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range ds {
		seen[d.Name()] = true
		p, ok := rulePopulations[d.Name()]
		if !ok {
			t.Errorf("%s declares no population", d.Name())
			continue
		}
		if p.Ceiling <= 0 || p.Ceiling >= 1 || p.Cause == "" || p.subjects == "" {
			t.Errorf("%s: population %+v", d.Name(), p.Population.Name)
		}
	}
	var extra []string
	for n := range rulePopulations {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("populations of rules that do not exist: %v", extra)
	}
}

// declaredPopulations returns each population the rules declare once, by
// name.
func declaredPopulations() []Population {
	byName := map[string]Population{}
	for _, rp := range rulePopulations {
		byName[rp.Name] = rp.Population
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Population, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}

// TestSinglePopulations checks the populations the guard counts by rows
// (single) on the sample batch: each subject is one row there, while a
// population that is not single has a subject at several institutions, so
// a count of its rows would overcount.
func TestSinglePopulations(t *testing.T) {
	ctx := context.Background()
	db := sampleDB(t)
	for _, p := range declaredPopulations() {
		var rows, subjects int64
		if err := db.QueryRowContext(ctx, `WITH pop AS (`+p.subjects+`) SELECT count(*), count(DISTINCT subject_id) FROM pop`).Scan(&rows, &subjects); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		switch {
		case subjects == 0:
			t.Errorf("%s: no subjects in the sample", p.Name)
		case p.single && rows != subjects:
			t.Errorf("%s is single but has %d rows for %d subjects", p.Name, rows, subjects)
		case !p.single && rows == subjects:
			t.Errorf("%s: every subject is one row in the sample; is it single?", p.Name)
		}
	}
}

// TestCountPopulation checks the guard's counts of every population
// against DuckDB's distinct counts over the same grouping sets, on the
// sample batch: the populations that are not single are counted from their
// distinct rows level by level, which holds only while their rows are
// distinct, and a population within another is that one's cells of its
// visit types.
func TestCountPopulation(t *testing.T) {
	ctx := context.Background()
	conn, err := sampleDB(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	counted := populationCounts{}
	for _, p := range declaredPopulations() {
		var rows, distinct int64
		if err := conn.QueryRowContext(ctx, `WITH pop AS (`+p.subjects+`)
			SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT * FROM pop)) FROM pop`).Scan(&rows, &distinct); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if rows != distinct {
			t.Errorf("%s: %d rows, %d distinct", p.Name, rows, distinct)
		}
		got, err := counted.of(ctx, conn, p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := queryCounts(ctx, conn, `WITH pop AS (`+p.subjects+`)
			SELECT grouping(region, insurance, visit_type, org_code), coalesce(region, ''), coalesce(insurance, ''),
			       coalesce(visit_type, ''), coalesce(org_code, ''), count(DISTINCT subject_id)
			FROM pop GROUP BY GROUPING SETS ((region, insurance, visit_type, org_code), (region, insurance, visit_type), (org_code), ())`)
		if err != nil {
			t.Fatal(err)
		}
		if want.batch.N == 0 || len(want.cells) == 0 {
			t.Errorf("%s: nothing counted in the sample", p.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: counts %+v, want %+v", p.Name, got.batch, want.batch)
		}
	}
}

func orgs(kv ...any) map[string]int64 {
	m := map[string]int64{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = int64(kv[i+1].(int))
	}
	return m
}

func TestGuardDecide(t *testing.T) {
	g := DefaultGuardConfig()
	spreadN := orgs("A", 100, "B", 100, "C", 100, "D", 100, "E", 100, "F", 100)
	tests := []struct {
		name       string
		c          cellCounts
		alarm, hot bool
	}{
		{"below the ceiling", cellCounts{N: 600, F: 6, OrgN: spreadN, OrgF: orgs("A", 3, "B", 3)}, false, false},
		{"spread over six institutions", cellCounts{N: 600, F: 180, OrgN: spreadN,
			OrgF: orgs("A", 30, "B", 30, "C", 30, "D", 30, "E", 30, "F", 30)}, true, false},
		{"one institution", cellCounts{N: 600, F: 42, OrgN: spreadN, OrgF: orgs("A", 40, "B", 1, "C", 1)}, false, true},
		{"three bad hospitals and quiet peers", cellCounts{N: 600, F: 75, OrgN: spreadN,
			OrgF: orgs("A", 30, "B", 25, "C", 15, "D", 2, "E", 2, "F", 1)}, false, true},
		{"too small to judge", cellCounts{N: 150, F: 100, OrgN: orgs("A", 25, "B", 25, "C", 25, "D", 25, "E", 25, "F", 25),
			OrgF: orgs("A", 20, "B", 20, "C", 20, "D", 20, "E", 20)}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := g.decide(tt.c, 0.05, false)
			if v.Alarm != tt.alarm || (len(v.Hot) > 0) != tt.hot {
				t.Errorf("alarm %v hot %v, want %v %v (%+v)", v.Alarm, v.Hot, tt.alarm, tt.hot, v)
			}
		})
	}
}

func TestRocAUC(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{4, 3, 2, 1}, []bool{true, true, false, false}, 1},
		{"inverted", []float64{4, 3, 2, 1}, []bool{false, false, true, true}, 0},
		{"one swap", []float64{4, 3, 2, 1}, []bool{true, false, true, false}, 0.75},
		{"ties count half", []float64{1, 1}, []bool{true, false}, 0.5},
		{"one class", []float64{1, 2}, []bool{true, true}, 0},
	}
	for _, tt := range tests {
		if got := rocAUC(tt.scores, tt.labels); got != tt.want {
			t.Errorf("%s: %g, want %g", tt.name, got, tt.want)
		}
	}
}
