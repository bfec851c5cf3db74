package pipeline

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medaudit/medaudit/fixtures"
)

// BenchmarkDecode measures the Go side of ingest alone: decode, check and
// build Arrow record batches of fee_items, with DuckDB out of the loop.
func BenchmarkDecode(b *testing.B) {
	dir := b.TempDir()
	cfg := fixtures.DefaultConfig()
	cfg.Persons = 5000
	if _, err := fixtures.Generate(context.Background(), cfg, filepath.Join(dir, "csv")); err != nil {
		b.Fatal(err)
	}
	icfg := DefaultConfig()
	for _, f := range []Format{FormatCSV, FormatParquet} {
		src := filepath.Join(dir, string(f))
		if f != FormatCSV {
			if err := Convert(context.Background(), filepath.Join(dir, "csv"), src, f, icfg); err != nil {
				b.Fatal(err)
			}
		}
		files, _, err := FindBatchFiles(src)
		if err != nil {
			b.Fatal(err)
		}
		var fee BatchFile
		for _, bf := range files {
			if bf.Table.Name == "fee_items" {
				fee = bf
			}
		}
		b.Run("format="+string(f), func(b *testing.B) {
			b.ReportAllocs()
			var rows int64
			for b.Loop() {
				rs, err := openSource(fee, icfg)
				if err != nil {
					b.Fatal(err)
				}
				sp, err := newSpill(icfg.Allocator, icfg.BatchRows)
				if err != nil {
					b.Fatal(err)
				}
				ch := make(chan arrow.RecordBatch, 4)
				done := make(chan error, 1)
				go func() {
					defer close(ch)
					done <- produce(context.Background(), rs, fee.Table, icfg, ch, sp, &fileKeys{})
				}()
				for rec := range ch {
					rows += rec.NumRows()
					rec.Release()
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				sp.close()
				rs.close()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
