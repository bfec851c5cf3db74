package detectors

import (
	"context"
	"runtime"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
)

// TestReleaseHeapReturnsGarbage: garbage left by a detector (here 128 MiB
// no longer referenced) is collected and returned to the system by
// releaseHeap, not kept until the heap next grows.
func TestReleaseHeapReturnsGarbage(t *testing.T) {
	held := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.HeapIdle - m.HeapReleased
	}
	garbage := make([][]byte, 128)
	for i := range garbage {
		garbage[i] = make([]byte, 1<<20)
		garbage[i][0] = byte(i)
	}
	if before := held(); before < 128<<20 {
		t.Fatalf("the heap holds %d bytes before the release, want at least 128 MiB", before)
	}
	runtime.KeepAlive(garbage)
	releaseHeap()
	if after := held(); after > heapRetain {
		t.Errorf("the heap holds %d bytes after releaseHeap, want at most %d", after, heapRetain)
	}
}

// TestShareThreads: while scans run their detectors on two workers, each
// query gets half of the database's threads; the setting comes back when
// the last of them finishes, and a database already on one thread is left
// alone.
func TestShareThreads(t *testing.T) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `SET threads = 4`); err != nil {
		t.Fatal(err)
	}
	threads := func() int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT current_setting('threads')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first, err := shareThreads(ctx, db.DB, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n := threads(); n != 2 {
		t.Fatalf("threads while one scan runs on 2 workers: %d, want 2", n)
	}
	second, err := shareThreads(ctx, db.DB, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := first(); err != nil {
		t.Fatal(err)
	}
	if n := threads(); n != 2 {
		t.Errorf("threads while the second scan still runs: %d, want 2", n)
	}
	if err := second(); err != nil {
		t.Fatal(err)
	}
	if n := threads(); n != 4 {
		t.Errorf("threads after both scans: %d, want 4 again", n)
	}
	if _, err := db.ExecContext(ctx, `SET threads = 1`); err != nil {
		t.Fatal(err)
	}
	one, err := shareThreads(ctx, db.DB, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n := threads(); n != 1 {
		t.Errorf("threads of a one-thread database under a scan: %d", n)
	}
	if err := one(); err != nil || threads() != 1 || len(threadsOf) != 0 {
		t.Errorf("after the scan: threads %d, %d databases held, %v", threads(), len(threadsOf), err)
	}
}
