package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// duckdbType is the DuckDB column type of a contract column.
func duckdbType(t contract.ColType) string {
	switch t {
	case contract.Date:
		return "DATE"
	case contract.Timestamp:
		return "TIMESTAMP"
	case contract.Amount:
		return "DECIMAL(18,2)"
	case contract.Quantity:
		return "DECIMAL(18,4)"
	case contract.Ratio:
		return "DECIMAL(5,4)"
	case contract.Int:
		return "INTEGER"
	case contract.Bool:
		return "BOOLEAN"
	}
	return "VARCHAR"
}

// LoadNative loads a batch with DuckDB's own read_csv / read_parquet straight
// into the contract tables: no validation, no quarantine, no deduplication.
// It is the reference the ingest benchmark is measured against, and returns
// the number of rows loaded. Arrow IPC files are not supported (DuckDB has
// no built-in reader for them). A national extract file (setl_d, mdtrt_d,
// fee_list_d), which has no contract table to land in, is read once with
// read_csv's own type detection into a table of its own.
func LoadNative(ctx context.Context, db *DB, dir string) (int64, error) {
	files, _, err := FindBatchFiles(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	seen := map[string]bool{}
	for i, f := range files {
		if f.national != nil {
			if seen[f.Path] {
				continue // another table fed by the same national file
			}
			seen[f.Path] = true
			if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE native_%d AS SELECT * FROM read_csv(%s, header = true)`, i, quoteLiteral(f.Path))); err != nil {
				return total, fmt.Errorf("native load of %s: %w", f.Name, err)
			}
			var n int64
			if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM native_%d`, i)).Scan(&n); err != nil {
				return total, err
			}
			total += n
			continue
		}
		names, err := fileColumns(f)
		if err != nil {
			return total, fmt.Errorf("native load of %s: %w", f.Name, err)
		}
		var cols []string // the contract columns the file has
		for _, c := range f.Table.Columns {
			if slices.Contains(names, c.Name) {
				cols = append(cols, quoteIdent(c.Name))
			}
		}
		var src string
		switch f.Format {
		case FormatCSV, FormatCSVGz:
			types := make([]string, len(names))
			for i, n := range names {
				t := "VARCHAR"
				if c, ok := f.Table.Column(n); ok {
					t = duckdbType(c.Type)
				}
				types[i] = fmt.Sprintf("%s: '%s'", quoteLiteral(n), t)
			}
			src = fmt.Sprintf("read_csv(%s, header = true, columns = {%s}, timestampformat = '%%Y-%%m-%%d %%H:%%M:%%S', dateformat = '%%Y-%%m-%%d')",
				quoteLiteral(f.Path), strings.Join(types, ", "))
		case FormatParquet:
			src = fmt.Sprintf("read_parquet(%s)", quoteLiteral(f.Path))
		default:
			return total, fmt.Errorf("%s: DuckDB has no native reader for %s", f.Name, f.Format)
		}
		list := strings.Join(cols, ", ")
		res, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s, batch_id, run_id, src_line, row_hash) SELECT %s, 'native', 0, 0, 0 FROM %s`,
			quoteIdent(f.Table.Name), list, list, src))
		if err != nil {
			return total, fmt.Errorf("native load of %s: %w", f.Name, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// fileColumns returns the column names of a contract file, in file order.
func fileColumns(f BatchFile) ([]string, error) {
	src, err := openSource(f, DefaultConfig())
	if err != nil {
		return nil, err
	}
	defer src.close()
	switch s := src.(type) {
	case *csvSource:
		return s.cols.names, nil
	case *arrowSource:
		return s.cols.names, nil
	}
	return nil, fmt.Errorf("%s: not a contract CSV, Parquet or Arrow file", f.Name)
}
