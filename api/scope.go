package api

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/pipeline"
)

// District-scoped writes. An upload by a user who does not see every
// district may only carry rows of institutions in their districts: rows of
// institutions, settlements, fee items (through their settlement), card
// swipes and stock movements, as loaded or corrected by the batch, and the
// versions those corrections replaced (so moving an institution into one's
// district is refused too). A batch with any other row is refused whole:
// it rolls back inside its transaction and nothing of it is stored (the
// failed run and its reason stay in the ingest ledger). Refusing rather
// than quarantining keeps one rule simple to audit: a district's data
// changes only through its own users or users of every district. Persons,
// registrations and the catalog are not rows of an institution and are
// not restricted.

// outsideRows counts the rows the run wrote (or replaced) whose institution
// is outside districts, and names up to three such institutions.
const outsideRows = `WITH touched AS (
	SELECT org_code FROM institutions WHERE run_id = $run
	UNION ALL SELECT org_code FROM institutions_history WHERE superseded_by = $batch
	UNION ALL SELECT org_code FROM settlements WHERE run_id = $run
	UNION ALL SELECT org_code FROM settlements_history WHERE superseded_by = $batch
	UNION ALL SELECT s.org_code FROM fee_items f JOIN settlements s USING (settlement_id) WHERE f.run_id = $run
	UNION ALL SELECT s.org_code FROM fee_items_history f JOIN settlements s USING (settlement_id) WHERE f.superseded_by = $batch
	UNION ALL SELECT org_code FROM card_swipes WHERE run_id = $run
	UNION ALL SELECT org_code FROM card_swipes_history WHERE superseded_by = $batch
	UNION ALL SELECT org_code FROM stock_movements WHERE run_id = $run
	UNION ALL SELECT org_code FROM stock_movements_history WHERE superseded_by = $batch
), districts AS (
	SELECT org_code, region_code AS district FROM institutions
	UNION ALL SELECT org_code, region_code FROM institutions_history WHERE superseded_by = $batch
)
SELECT count(*), coalesce(string_agg(DISTINCT t.org_code, ', ' ORDER BY t.org_code) FILTER (WHERE t.org_code IS NOT NULL), '')
FROM touched t
WHERE NOT EXISTS (SELECT 1 FROM districts d WHERE d.org_code = t.org_code AND list_contains($mine, d.district))
   OR EXISTS (SELECT 1 FROM districts d WHERE d.org_code = t.org_code AND NOT list_contains($mine, d.district))`

// districtGuard is the ingest hook that refuses a batch with rows outside
// u's districts; nil for users who see every district.
func districtGuard(u auth.User) func(ctx context.Context, conn *sql.Conn, runID int64, batchID string) error {
	if u.Sees("*") {
		return nil
	}
	return func(ctx context.Context, conn *sql.Conn, runID int64, batchID string) error {
		var n int64
		var orgs string
		if err := conn.QueryRowContext(ctx, outsideRows, sql.Named("run", runID), sql.Named("batch", batchID), sql.Named("mine", u.Districts)).
			Scan(&n, &orgs); err != nil {
			return fmt.Errorf("check the batch's districts: %w", err)
		}
		if n == 0 {
			return nil
		}
		if list := strings.Split(orgs, ", "); len(list) > 3 {
			orgs = strings.Join(list[:3], ", ") + " …"
		}
		return fmt.Errorf("上传被拒绝：%d 行属于您辖区（%s）以外的机构（%s）；整批未入库。 Refused: %d rows belong to institutions outside your districts (%s): %s; nothing of the batch was stored",
			n, strings.Join(u.Districts, ","), orgs, n, strings.Join(u.Districts, ","), orgs)
	}
}

// batchesIn are the batches that delivered a current row of an institution
// in the districts (or of such an institution's settlements, fee items,
// swipes or stock movements), and those the user uploaded.
const batchesIn = `WITH orgs AS (SELECT org_code FROM institutions WHERE list_contains($mine, region_code))
SELECT batch_id FROM institutions WHERE org_code IN (SELECT org_code FROM orgs)
UNION SELECT batch_id FROM settlements WHERE org_code IN (SELECT org_code FROM orgs)
UNION SELECT f.batch_id FROM fee_items f JOIN settlements s USING (settlement_id) WHERE s.org_code IN (SELECT org_code FROM orgs)
UNION SELECT batch_id FROM card_swipes WHERE org_code IN (SELECT org_code FROM orgs)
UNION SELECT batch_id FROM stock_movements WHERE org_code IN (SELECT org_code FROM orgs)
UNION SELECT batch_id FROM batch_uploads WHERE user_id = $user`

// visibleBatches is the set of batches u may see, or nil when u sees every
// district.
func (s *Server) visibleBatches(ctx context.Context, u auth.User) (map[string]bool, error) {
	if u.Sees("*") {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, batchesIn, sql.Named("mine", u.Districts), sql.Named("user", u.ID))
	if err != nil {
		return nil, fmt.Errorf("batches of the user's districts: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// scopeRuns keeps the runs of the batches u may see.
func (s *Server) scopeRuns(ctx context.Context, u auth.User, runs []pipeline.Run) ([]pipeline.Run, error) {
	visible, err := s.visibleBatches(ctx, u)
	if err != nil || visible == nil {
		return runs, err
	}
	return slices.DeleteFunc(runs, func(r pipeline.Run) bool { return !visible[r.BatchID] }), nil
}

// batchVisible is not found for a batch outside u's districts.
func (s *Server) batchVisible(ctx context.Context, u auth.User, batchID string) error {
	visible, err := s.visibleBatches(ctx, u)
	if err != nil {
		return err
	}
	if visible != nil && !visible[batchID] {
		return &Error{Code: CodeNotFound, Message: "no such batch"}
	}
	return nil
}

// recordUpload notes who uploaded a batch.
func (s *Server) recordUpload(ctx context.Context, u auth.User, batchID string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO batch_uploads VALUES (?, ?, ?)`, batchID, u.ID, s.now())
	return err
}
