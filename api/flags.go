package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/contract"
)

// flagRow is one flag in the listing.
type flagRow struct {
	FlagID       string          `json:"flag_id"`
	ScanID       int64           `json:"scan_id"`
	Detector     string          `json:"detector"`
	Family       string          `json:"family"`
	SubjectType  string          `json:"subject_type"`
	SubjectID    string          `json:"subject_id"`
	OrgCode      string          `json:"org_code"`
	Score        float64         `json:"score"`
	AmountAtRisk contract.Fen    `json:"amount_at_risk"`
	Override     string          `json:"override_class"`
	Status       string          `json:"status"`
	Evidence     json.RawMessage `json:"evidence"`
}

// listFlags answers GET /api/v1/flags: the flags of the institutions in the
// user's districts, filtered by family, detector, institution, status and
// minimum score and date (from, to), highest score first, paged. Every filter is a bound
// parameter; unknown values simply match nothing.
func (s *Server) listFlags(c *gin.Context) {
	limit, offset, err := paging(c, 100, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	conds := []string{"true"}
	var args []any
	for _, f := range []struct{ param, column string }{
		{"family", "f.family"}, {"detector", "f.detector"}, {"org_code", "f.org_code"}, {"subject_id", "f.subject_id"},
	} {
		if v := c.Query(f.param); v != "" {
			conds = append(conds, f.column+" = ?")
			args = append(args, v)
		}
	}
	status := c.DefaultQuery("status", "open")
	if status != "open" && status != "resolved" && status != "suppressed" {
		s.fail(c, &Error{Code: CodeInvalid, Field: "status", Message: "status must be open, resolved or suppressed (held by a calibration alarm)"})
		return
	}
	conds = append(conds, "f.status = ?")
	args = append(args, status)
	if v := c.Query("min_score"); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 1 {
			s.fail(c, &Error{Code: CodeInvalid, Field: "min_score", Message: "min_score must be a number from 0 to 1"})
			return
		}
		conds = append(conds, "f.score >= ?")
		args = append(args, x)
	}
	from := "flags f LEFT JOIN institutions i ON i.org_code = f.org_code"
	dates := false
	for _, d := range []struct{ param, op string }{{"from", ">="}, {"to", "<="}} {
		v := c.Query(d.param)
		if v == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, v)
		if err != nil {
			s.fail(c, &Error{Code: CodeInvalid, Field: d.param, Message: d.param + " must be a date, e.g. 2026-01-31"})
			return
		}
		dates = true
		conds = append(conds, "coalesce(st.settled_at, sc.started_at)::DATE "+d.op+" ?")
		args = append(args, day)
	}
	if dates {
		// A flag's date is its settlement's settlement date, or for flags on
		// cards and institutions the day it was first raised.
		from += ` LEFT JOIN settlements st ON f.subject_type = 'settlement' AND st.settlement_id = f.subject_id
			LEFT JOIN scans sc ON sc.scan_id = f.first_scan_id`
	}
	cond, dargs := inDistricts(currentUser(c), "i.region_code")
	conds, args = append(conds, cond), append(args, dargs...)
	where := strings.Join(conds, " AND ")
	var total int64
	if err := s.db.QueryRowContext(c.Request.Context(), `SELECT count(*) FROM `+from+` WHERE `+where, args...).Scan(&total); err != nil {
		s.fail(c, err)
		return
	}
	rows, err := s.db.QueryContext(c.Request.Context(), `SELECT f.flag_id, f.scan_id, f.detector, f.family, f.subject_type, f.subject_id,
		coalesce(f.org_code, ''), f.score, f.amount_at_risk::VARCHAR, f.override_class, f.status, f.evidence::VARCHAR
		FROM `+from+` WHERE `+where+`
		ORDER BY f.score DESC, f.flag_id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer rows.Close()
	out := []flagRow{}
	for rows.Next() {
		var r flagRow
		var amount, ev string
		if err := rows.Scan(&r.FlagID, &r.ScanID, &r.Detector, &r.Family, &r.SubjectType, &r.SubjectID, &r.OrgCode, &r.Score,
			&amount, &r.Override, &r.Status, &ev); err != nil {
			s.fail(c, err)
			return
		}
		if r.AmountAtRisk, err = contract.ParseFen(amount); err != nil {
			s.fail(c, err)
			return
		}
		r.Evidence = json.RawMessage(ev)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"total": total, "limit": limit, "offset": offset, "flags": out})
}
