package detectors

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

// ExportFlags writes the open flags of the latest scan to path, CSV or JSON
// lines by extension, with the contract's columns (flag_id, scan_id,
// detector, family, subject_type, subject_id, org_code, score,
// amount_at_risk, evidence) followed by override_class.
func ExportFlags(ctx context.Context, db *sql.DB, path string) (int64, error) {
	ext := filepath.Ext(path)
	if ext != ".csv" && ext != ".jsonl" {
		return 0, fmt.Errorf("export %s: the extension must be .csv or .jsonl", path)
	}
	scan, err := LatestScan(ctx, db)
	if err != nil {
		return 0, err
	}
	if scan == 0 {
		return 0, errors.New("no finished scan: run medaudit scan first")
	}
	rows, err := db.QueryContext(ctx, `SELECT flag_id, scan_id, detector, family, subject_type, subject_id, coalesce(org_code, ''),
		score, amount_at_risk::VARCHAR, evidence::VARCHAR, override_class
		FROM flags WHERE scan_id = ? AND status = 'open' ORDER BY family, detector, subject_id`, scan)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	fh, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	bw := bufio.NewWriter(fh)
	header := []string{"flag_id", "scan_id", "detector", "family", "subject_type", "subject_id", "org_code", "score", "amount_at_risk", "evidence", "override_class"}
	var cw *csv.Writer
	if ext == ".csv" {
		cw = csv.NewWriter(bw)
		cw.Write(header)
	}
	var n int64
	for rows.Next() {
		var id, det, fam, st, sid, org, amount, ev, oc string
		var scanID int64
		var score float64
		if err := rows.Scan(&id, &scanID, &det, &fam, &st, &sid, &org, &score, &amount, &ev, &oc); err != nil {
			return n, err
		}
		if cw != nil {
			// subject_id and org_code come from the batches: neutralised
			// for spreadsheets; the other columns are the service's own.
			err = cw.Write([]string{id, strconv.FormatInt(scanID, 10), det, fam, st, contract.SafeCell(sid), contract.SafeCell(org),
				strconv.FormatFloat(score, 'f', 4, 64), amount, ev, oc})
		} else {
			var line []byte
			line, err = json.Marshal(map[string]any{"flag_id": id, "scan_id": scanID, "detector": det, "family": fam, "subject_type": st,
				"subject_id": sid, "org_code": org, "score": score, "amount_at_risk": amount, "evidence": json.RawMessage(ev), "override_class": oc})
			if err == nil {
				line = append(line, '\n')
				_, err = bw.Write(line)
			}
		}
		if err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, errors.Join(bw.Flush(), fh.Close())
}
