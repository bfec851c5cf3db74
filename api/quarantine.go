package api

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline"
)

// quarantineCount is how many rows of one file were quarantined for one
// kind of reason.
type quarantineCount struct {
	File, Kind string
	Rows       int64
}

// quarantineBatch is a batch with quarantined rows.
type quarantineBatch struct {
	BatchID string
	Rows    int64
}

// quarantineKinds counts a batch's quarantined rows by file and the kind of
// reason (the reason up to its first colon), and lists the batches that
// have any, the latest load first.
func (s *Server) quarantineKinds(ctx context.Context, batch string) ([]quarantineBatch, []quarantineCount, error) {
	var batches []quarantineBatch
	rows, err := s.db.QueryContext(ctx, `SELECT batch_id, count(*) FROM quarantine q GROUP BY batch_id
		ORDER BY (SELECT max(started_at) FROM ingest_runs r WHERE r.batch_id = q.batch_id) DESC NULLS LAST, batch_id`)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var b quarantineBatch
		if err := rows.Scan(&b.BatchID, &b.Rows); err != nil {
			rows.Close()
			return nil, nil, err
		}
		batches = append(batches, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if batch == "" {
		return batches, nil, nil
	}
	var counts []quarantineCount
	rows, err = s.db.QueryContext(ctx, `SELECT file, split_part(reason, ':', 1), count(*) FROM quarantine WHERE batch_id = ?
		GROUP BY ALL ORDER BY 3 DESC, 1, 2`, batch)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var q quarantineCount
		if err := rows.Scan(&q.File, &q.Kind, &q.Rows); err != nil {
			return nil, nil, err
		}
		counts = append(counts, q)
	}
	return batches, counts, rows.Err()
}

// quarantinePage shows the quarantine: the batches with rejected rows, one
// batch's counts by file and reason, and its rows (file, line, column,
// reason; the raw row stays in `medaudit export quarantine`, since it may
// carry ID numbers and names).
func (s *Server) quarantinePage(c *gin.Context) {
	batch := c.Query("batch")
	batches, counts, err := s.quarantineKinds(c.Request.Context(), batch)
	if err != nil {
		s.fail(c, err)
		return
	}
	if batch == "" && len(batches) > 0 {
		batch = batches[0].BatchID
		if _, counts, err = s.quarantineKinds(c.Request.Context(), batch); err != nil {
			s.fail(c, err)
			return
		}
	}
	limit, offset, err := paging(c, 200, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	var reasons []pipeline.QuarantineReason
	var total int64
	if batch != "" {
		if reasons, total, err = pipeline.QuarantineReasons(c.Request.Context(), s.db, batch, limit, offset); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.render(c, "quarantine.html", gin.H{"Batches": batches, "Batch": batch, "Counts": counts, "Rows": reasons, "RowTotal": total,
		"Pages": pagerAt("/quarantine", withParam(c.Request.URL.Query(), "batch", batch), total, limit, offset)})
}

// quarantineExport answers GET /quarantine/export?batch=: one batch's
// quarantined rows (file, line, column, reason) as CSV.
func (s *Server) quarantineExport(c *gin.Context) {
	batch := c.Query("batch")
	rows, _, err := pipeline.QuarantineReasons(c.Request.Context(), s.db, batch, 1<<30, 0)
	if err != nil {
		s.fail(c, err)
		return
	}
	var b strings.Builder
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.Write([]string{"批次 batch", "文件 file", "行 line", "列 column", "原因 reason"})
	for _, r := range rows {
		w.Write([]string{batch, contract.SafeCell(r.File), strconv.FormatInt(r.Line, 10), contract.SafeCell(r.Column), contract.SafeCell(r.Reason)})
	}
	w.Flush()
	c.Header("Content-Disposition", `attachment; filename="quarantine-`+batch+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

// ledgerRoutes adds the quarantine page and its export.
func (s *Server) ledgerRoutes(web *gin.RouterGroup) {
	staff := s.requireRole(auth.Auditor, auth.Supervisor, auth.Admin)
	web.GET("/quarantine", staff, s.quarantinePage)
	web.GET("/quarantine/export", staff, s.quarantineExport)
}
