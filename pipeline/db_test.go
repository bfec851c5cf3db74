package pipeline_test

import (
	"context"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
)

// TestOpenSettings checks that every connection of an opened database runs
// with the settings Open gives it, including connections opened after the
// first (the pool opens one per concurrent query).
func TestOpenSettings(t *testing.T) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{MemoryLimit: "300MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{
		"memory_limit":                 "286.1 MiB",
		"threads":                      "1",
		"preserve_insertion_order":     "false",
		"TimeZone":                     "Asia/Shanghai",
		"allocator_background_threads": "true",
		"allocator_flush_threshold":    "15.2 MiB",
	}
	for i := range 3 {
		conn, err := db.Conn(ctx) // held open until the test ends, so each is a new connection
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for name, v := range want {
			var got string
			if err := conn.QueryRowContext(ctx, `SELECT current_setting(?)::VARCHAR`, name).Scan(&got); err != nil {
				t.Fatalf("connection %d: %s: %v", i, name, err)
			}
			if got != v {
				t.Errorf("connection %d: %s = %q, want %q", i, name, got, v)
			}
		}
	}
}
