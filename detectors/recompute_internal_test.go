package detectors

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/settlement"
)

// TestRecomputeBucketsAgree: running the recompute in many person buckets
// finds exactly what one pass finds.
func TestRecomputeBucketsAgree(t *testing.T) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := pipeline.DefaultConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	if _, err := pipeline.Ingest(ctx, db, filepath.Join("..", "fixtures", "testdata", "sample"), cfg); err != nil {
		t.Fatal(err)
	}
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	run := func(perBucket int) map[string]string {
		old := recomputeLinesPerBucket
		defer func() { recomputeLinesPerBucket = old }()
		recomputeLinesPerBucket = perBucket
		diffCache.Lock()
		diffCache.key = ""
		diffCache.Unlock()
		diffs, err := recomputeDiffs(ctx, db, ps)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, d := range diffs {
			out[d.ID] = d.Res.Fund.String() + "/" + d.Res.Account.String()
		}
		return out
	}
	one, many := run(1_000_000), run(4_000)
	if len(one) == 0 || len(one) != len(many) {
		t.Fatalf("one pass %d diffs, buckets %d", len(one), len(many))
	}
	for id, v := range one {
		if many[id] != v {
			t.Errorf("%s: %s in one pass, %s in buckets", id, v, many[id])
		}
	}
}
