package pipeline

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/medaudit/medaudit/contract"
)

// QuarantinedRow is one row of the quarantine export (CONTRACT.md:
// batch, file, line, column, reason, raw row).
type QuarantinedRow struct {
	Batch  string `json:"batch"`
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Column string `json:"column"`
	Reason string `json:"reason"`
	Raw    string `json:"raw"`
}

// ExportQuarantine writes every quarantined row to path, as CSV or JSON
// lines by its extension, ordered by batch, file and line. It returns the
// number of rows written.
func ExportQuarantine(ctx context.Context, db *DB, path string) (int64, error) {
	ext := filepath.Ext(path)
	if ext != ".csv" && ext != ".jsonl" {
		return 0, fmt.Errorf("export %s: the extension must be .csv or .jsonl", path)
	}
	rows, err := db.QueryContext(ctx, `SELECT batch_id, file, line, coalesce(column_name, ''), reason, raw
		FROM quarantine ORDER BY batch_id, file, line`)
	if err != nil {
		return 0, fmt.Errorf("read quarantine: %w", err)
	}
	defer rows.Close()
	fh, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	bw := bufio.NewWriter(fh)
	n, err := writeQuarantine(rows, bw, ext)
	if err != nil {
		return n, fmt.Errorf("export quarantine: %w", err)
	}
	if err := errors.Join(bw.Flush(), fh.Close()); err != nil {
		return n, err
	}
	return n, nil
}

func writeQuarantine(rows *sql.Rows, w *bufio.Writer, ext string) (int64, error) {
	var (
		n    int64
		cw   *csv.Writer
		enc  *json.Encoder
		r    QuarantinedRow
		line = make([]string, 6)
	)
	if ext == ".csv" {
		cw = csv.NewWriter(w)
		cw.Write([]string{"batch", "file", "line", "column", "reason", "raw"})
	} else {
		enc = json.NewEncoder(w)
		enc.SetEscapeHTML(false)
	}
	for rows.Next() {
		if err := rows.Scan(&r.Batch, &r.File, &r.Line, &r.Column, &r.Reason, &r.Raw); err != nil {
			return n, err
		}
		if cw != nil {
			line[0], line[1], line[2], line[3], line[4], line[5] = r.Batch, contract.SafeCell(r.File), strconv.FormatInt(r.Line, 10),
				contract.SafeCell(r.Column), contract.SafeCell(r.Reason), contract.SafeCell(r.Raw)
			if err := cw.Write(line); err != nil {
				return n, err
			}
		} else if err := enc.Encode(r); err != nil {
			return n, err
		}
		n++
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}
