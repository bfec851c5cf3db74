package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestNaturalTypesPassThrough checks that Parquet and Arrow files written
// with the contract's natural types take the zero-copy path.
func TestNaturalTypesPassThrough(t *testing.T) {
	cfg := DefaultConfig()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg.Allocator = mem
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "stock_movements.csv"), []byte(
		"movement_id,org_code,item_code,moved_on,kind,quantity,unit_price\nM1,P33010600002,X1,2025-03-01,purchase,1.0000,2.5000\n"), 0o644)
	for _, f := range []Format{FormatParquet, FormatArrow} {
		dst := t.TempDir()
		if err := Convert(context.Background(), src, dst, f, cfg); err != nil {
			t.Fatal(err)
		}
		files, _, err := FindBatchFiles(dst)
		if err != nil {
			t.Fatal(err)
		}
		s, err := openSource(files[0], cfg)
		if err != nil {
			t.Fatal(err)
		}
		if as, ok := s.(*arrowSource); !ok || !as.passthrough {
			t.Errorf("%s: not on the pass-through path", f)
		}
		s.close()
	}
}
