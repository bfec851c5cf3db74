package codes_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/codes"
)

var update = flag.Bool("update", false, "rewrite pipeline/migrations/0013_reference_and_conventions.sql and 0019_reference_lists.sql")

var migration = filepath.Join("..", "pipeline", "migrations", "0013_reference_and_conventions.sql")

// conventionsMarker starts the hand-written part of the migration (the
// learned-convention views), which -update keeps.
const conventionsMarker = "-- Learned conventions"

// TestMigrationUpToDate keeps the shipped migration's reference part
// identical to SQL().
func TestMigrationUpToDate(t *testing.T) {
	want := codes.SQL()
	got, err := os.ReadFile(migration)
	if err != nil {
		t.Fatal(err)
	}
	ref, tail, ok := strings.Cut(string(got), conventionsMarker)
	if !ok {
		t.Fatalf("%s lacks the line %q", migration, conventionsMarker)
	}
	if *update {
		if err := os.WriteFile(migration, []byte(want+conventionsMarker+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		ref = want
	}
	if ref != want {
		t.Errorf("%s differs from codes.SQL(): run go test ./codes -update", migration)
	}
}

// TestListsMigrationUpToDate keeps migration 0019 identical to ListsSQL().
func TestListsMigrationUpToDate(t *testing.T) {
	path := filepath.Join("..", "pipeline", "migrations", "0019_reference_lists.sql")
	want := codes.ListsSQL()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from codes.ListsSQL(): run go test ./codes -update", path)
	}
	for _, l := range codes.DiagnosisLists {
		if l.Source == "" || l.Name == "" || (l.List != codes.ListScheduledCycle && l.List != codes.ListLowIndication) {
			t.Errorf("list row %+v lacks a name, a source or a known list", l)
		}
	}
}

func TestLookups(t *testing.T) {
	tests := []struct {
		code, name string
		sex        int
		newborn    bool
	}{
		{"N83.200", "卵巢囊肿", 2, false},
		{"N40.x00", "前列腺增生", 1, false},
		{"O80.000", "单胎顺产", 2, false},
		{"P59.900", "新生儿黄疸", 0, true},
		{"Z38.000", "单胎,在医院内出生", 0, true},
		{"N85.100", "女性盆腔器官炎性疾病及生殖道非炎性疾病", 2, false}, // not in the dictionary: the range's name
		{"J18.900", "肺炎", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := codes.DiagnosisName(tt.code); got != tt.name {
				t.Errorf("name %q, want %q", got, tt.name)
			}
			r, ok := codes.RuleFor(tt.code)
			if ok != (tt.sex != 0 || tt.newborn) || r.Sex != tt.sex || r.Newborn != tt.newborn {
				t.Errorf("rule %+v ok=%v", r, ok)
			}
		})
	}
}

func TestDictionariesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range codes.Diagnoses {
		if len(d.Code) != 7 || d.Code[3] != '.' || d.Name == "" || seen[d.Code] {
			t.Errorf("bad or duplicate diagnosis %+v", d)
		}
		seen[d.Code] = true
	}
	for _, r := range codes.DiagnosisRules {
		if len(r.From) != 3 || len(r.To) != 3 || r.From > r.To || r.Name == "" {
			t.Errorf("bad rule %+v", r)
		}
	}
	for _, r := range codes.ItemRules {
		if r.Code == "" || r.Name == "" || (r.Sex == 0 && r.MaxAge < 0) {
			t.Errorf("bad item rule %+v", r)
		}
	}
}
