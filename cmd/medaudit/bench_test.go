package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// TestBenchIngestRuns: bench ingest loads a batch with both loaders the
// number of times asked, reports every run's seconds, and derives the best
// and the ratio from them.
func TestBenchIngestRuns(t *testing.T) {
	batch, work := t.TempDir(), t.TempDir()
	pipelinetest.Valid().WriteCSV(t, batch)
	var got map[string]json.RawMessage // the batch's result, and "dir"
	if err := json.Unmarshal([]byte(run(t, "bench", "ingest", "--dir", batch, "--work", work, "--repeat", "3")), &got); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(batch)
	var r benchResult
	if err := json.Unmarshal(got[name], &r); err != nil {
		t.Fatalf("result of %s: %v (%s)", name, err, got[name])
	}
	if len(r.IngestRuns) != 3 || len(r.NativeRuns) != 3 {
		t.Fatalf("%s: runs %v and %v, want 3 of each", name, r.IngestRuns, r.NativeRuns)
	}
	if r.Rows == 0 || r.IngestSecs != min(r.IngestRuns[0], r.IngestRuns[1], r.IngestRuns[2]) ||
		r.NativeSecs != min(r.NativeRuns[0], r.NativeRuns[1], r.NativeRuns[2]) {
		t.Errorf("%s: best %v / %v is not the least of the runs %v / %v (rows %d)", name, r.IngestSecs, r.NativeSecs, r.IngestRuns, r.NativeRuns, r.Rows)
	}
}
