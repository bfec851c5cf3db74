package reports

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestPrune keeps the newest complete scheduled backups, removes older
// ones and partial ones older than the oldest kept, and never touches
// other folders.
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"nightly-20260101T0130Z", "nightly-20260102T0130Z", "nightly-20260103T0130Z", "nightly-20260104T0130Z", "medaudit-manual"} {
		os.MkdirAll(filepath.Join(dir, n), 0o755)
		os.WriteFile(filepath.Join(dir, n, "manifest.json"), []byte("{}"), 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "nightly-20260101T0200Z"), 0o755) // partial: no manifest
	removed, err := prune(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nightly-20260101T0130Z", "nightly-20260101T0200Z", "nightly-20260102T0130Z"}
	if !reflect.DeepEqual(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	left, _ := os.ReadDir(dir)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"medaudit-manual", "nightly-20260103T0130Z", "nightly-20260104T0130Z"}) {
		t.Errorf("left %v", names)
	}
}
