package detectors

import (
	"runtime"
	"testing"
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
