//go:build linux && cgo

package pipeline

import (
	"context"
	"testing"
)

// TestOpenSetsMuzzyDecay: opening a database makes DuckDB's allocator
// return lazily freed pages at once (its own default keeps them 1 s).
func TestOpenSetsMuzzyDecay(t *testing.T) {
	db, err := Open(context.Background(), "", DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM range(1000000) GROUP BY range % 7 LIMIT 1`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	got, err := muzzyDecay()
	if err != nil {
		t.Fatal(err)
	}
	if got != 0 {
		t.Errorf("arenas.muzzy_decay_ms = %d, want 0", got)
	}
}
