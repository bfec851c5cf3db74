package detectors_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
)

// TestEvalMissesReproducible: with more than 20 unfound labels, the report
// lists the first 20 by subject id, the same on every run.
func TestEvalMissesReproducible(t *testing.T) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A finished scan of an empty database: every label is a miss.
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := detectors.Scan(ctx, db.DB, ds[:1], time.Now); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("family,subject_type,subject_id,variant\n")
	var want []string
	for i := 60; i > 0; i-- {
		id := fmt.Sprintf("S%03d", i)
		fmt.Fprintf(&b, "ghost_bed,settlement,%s,absent_patient\n", id)
		if i <= 20 {
			want = append([]string{id + " absent_patient"}, want...)
		}
	}
	labels := filepath.Join(t.TempDir(), "labels.csv")
	if err := os.WriteFile(labels, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for run := range 5 {
		rep, err := detectors.Eval(ctx, db.DB, labels, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fs := rep.Families["ghost_bed"]; fs.Labels != 60 || fs.FN != 60 {
			t.Fatalf("ghost_bed %+v, want 60 labels, all missed", fs)
		}
		if got := rep.Misses["ghost_bed"]; !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: misses %v, want %v", run, got, want)
		}
	}
}
