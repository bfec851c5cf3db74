package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// parquetExports are the exported tables: the query that selects each and
// its hive partition columns: region and month (flags: the month they were
// first raised; cases: the month they were opened).
// Persons are exported with masked ID numbers and names unless unmasked.
func parquetExports(unmasked bool) []struct{ name, query, partition string } {
	person := `SELECT * EXCLUDE (batch_id, run_id, src_line, row_hash, extra) FROM persons`
	if !unmasked {
		person = `SELECT * EXCLUDE (batch_id, run_id, src_line, row_hash, extra, id_number, name),
			substr(id_number, 1, 6) || repeat('*', 8) || substr(id_number, 15, 4) AS id_number,
			substr(name, 1, 1) || repeat('*', length(name) - 1) AS name FROM persons`
	}
	strip := `EXCLUDE (batch_id, run_id, src_line, row_hash, extra)`
	return []struct{ name, query, partition string }{
		{"institutions", `SELECT * ` + strip + ` FROM institutions`, ""},
		{"persons", person, ""},
		{"catalog", `SELECT * ` + strip + ` FROM catalog`, ""},
		{"registrations", `SELECT * ` + strip + ` FROM registrations`, ""},
		{"settlements", `SELECT * ` + strip + `, insured_region AS region, strftime(settled_at, '%Y-%m') AS month FROM settlements`, "region, month"},
		{"fee_items", `SELECT f.* ` + strip + `, s.insured_region AS region, strftime(s.settled_at, '%Y-%m') AS month
			FROM fee_items f JOIN settlements s USING (settlement_id)`, "region, month"},
		{"card_swipes", `SELECT w.* ` + strip + `, coalesce(i.region_code, 'unknown') AS region, strftime(w.swiped_at, '%Y-%m') AS month
			FROM card_swipes w LEFT JOIN institutions i USING (org_code)`, "region, month"},
		{"stock_movements", `SELECT m.* ` + strip + `, coalesce(i.region_code, 'unknown') AS region, strftime(m.moved_on, '%Y-%m') AS month
			FROM stock_movements m LEFT JOIN institutions i USING (org_code)`, "region, month"},
		{"flags", `SELECT f.* EXCLUDE (evidence), f.evidence::VARCHAR AS evidence, coalesce(i.region_code, 'unknown') AS region,
			coalesce(strftime(sc.started_at, '%Y-%m'), 'unknown') AS month
			FROM flags f LEFT JOIN institutions i USING (org_code) LEFT JOIN scans sc ON sc.scan_id = f.first_scan_id`, "region, month"},
		{"cases", `SELECT * EXCLUDE (district), coalesce(district, 'unknown') AS region, strftime(opened_at, '%Y-%m') AS month FROM cases`, "region, month"},
	}
}

// ExportParquet writes the loaded tables, the flags and the cases to dir as
// Parquet (hive-partitioned by region and month where they have them), so
// any engine can read them. It returns the rows written per table.
func ExportParquet(ctx context.Context, db *DB, dir string, unmasked bool) (map[string]int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, e := range parquetExports(unmasked) {
		target := filepath.Join(dir, e.name)
		if err := os.RemoveAll(target); err != nil {
			return out, err
		}
		opts := "FORMAT parquet, COMPRESSION zstd"
		if e.partition != "" {
			opts += ", PARTITION_BY (" + e.partition + ")"
		} else {
			target += ".parquet"
		}
		res, err := db.ExecContext(ctx, fmt.Sprintf(`COPY (%s) TO %s (%s)`, e.query, quoteLiteral(target), opts))
		if err != nil {
			return out, fmt.Errorf("export %s: %w", e.name, err)
		}
		n, _ := res.RowsAffected()
		out[e.name] = n
	}
	return out, nil
}
