package pipeline_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// TestExportQuarantineNeutralisesFormulas: a quarantined row whose text
// would be a spreadsheet formula is exported as text (leading apostrophe),
// in every column that carries batch content.
func TestExportQuarantineNeutralisesFormulas(t *testing.T) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	b := pipelinetest.Valid()
	b.Set("fee_items", 0, "item_id", `=1+2`).Set("fee_items", 0, "item_name", `=HYPERLINK("http://evil.example","点击")`).Set("fee_items", 0, "amount", "abc")
	b.WriteCSV(t, dir)
	if _, err := pipeline.Ingest(ctx, db, dir, pipeline.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "q.csv")
	n, err := pipeline.ExportQuarantine(ctx, db, out)
	if err != nil || n != 1 {
		t.Fatalf("export: %d rows, %v", n, err)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	raw := recs[1][5]
	if raw[:5] != `'=1+2` {
		t.Errorf("raw row exported as %q, want a leading apostrophe", raw)
	}
	for i, cell := range recs[1] {
		if len(cell) > 0 && (cell[0] == '=' || cell[0] == '+' || cell[0] == '@') {
			t.Errorf("column %d starts a formula: %q", i, cell)
		}
	}
}
