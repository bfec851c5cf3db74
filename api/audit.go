package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/casebook"
)

// auditLog answers GET /api/v1/audit: the hash-chained events of the cases
// in the user's districts, filtered by case, actor and time, in chain
// order. Admins also get the result of verifying the whole chain.
func (s *Server) auditLog(c *gin.Context) {
	ctx := c.Request.Context()
	limit, offset, err := paging(c, 200, 5000)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := casebook.EventFilter{CaseID: c.Query("case_id"), Actor: c.Query("actor"), Limit: limit, Offset: offset}
	if v := c.Query("since"); v != "" {
		if f.Since, err = time.Parse(time.DateOnly, v); err != nil {
			s.fail(c, &Error{Code: CodeInvalid, Field: "since", Message: "since must be a date, e.g. 2026-01-31"})
			return
		}
	}
	u := currentUser(c)
	if !u.Sees("*") {
		f.Districts = u.Districts
	}
	events, total, err := s.cases.Events(ctx, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := gin.H{"total": total, "limit": limit, "offset": offset, "events": events}
	if u.Sees("*") {
		n, err := s.cases.VerifyTrail(ctx)
		out["chain"] = gin.H{"verified": err == nil, "events": n}
		if err != nil {
			out["chain"] = gin.H{"verified": false, "events": n, "problem": err.Error()}
		}
	}
	c.JSON(http.StatusOK, out)
}
