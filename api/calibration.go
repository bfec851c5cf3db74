package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/detectors"
)

// WithDetectors sets the detectors' configuration (a thresholds file's
// overrides) the server's scans run with, and the name of its source.
func WithDetectors(cfg detectors.Config, source string) Option {
	return func(s *Server) { s.detectorCfg, s.thresholdsSource = cfg, source }
}

// scanOptions are the options of the server's scans.
func (s *Server) scanOptions() detectors.ScanOptions {
	return detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), ThresholdsSource: s.thresholdsSource}
}

// visibleAlarms lists the calibration alarms matching a condition on
// calibration_alarms as the user may see them: an alarm spans many
// institutions, so everyone on the staff sees it, but its examples only
// from the institutions of the user's districts.
func (s *Server) visibleAlarms(c *gin.Context, where string, args ...any) ([]detectors.Alarm, error) {
	alarms, err := detectors.LoadAlarms(c.Request.Context(), s.db.DB, where, args...)
	if err != nil {
		return nil, err
	}
	u := currentUser(c)
	if u.Sees("*") {
		return alarms, nil
	}
	districts, err := casebook.OrgDistricts(c.Request.Context(), s.db)
	if err != nil {
		return nil, err
	}
	for i := range alarms {
		var ex []map[string]any
		if err := json.Unmarshal(alarms[i].Examples, &ex); err != nil {
			return nil, err
		}
		kept := []map[string]any{}
		for _, e := range ex {
			if org, _ := e["org_code"].(string); u.Sees(districts[org]) {
				kept = append(kept, e)
			}
		}
		b, err := json.Marshal(kept)
		if err != nil {
			return nil, err
		}
		alarms[i].Examples = b
	}
	return alarms, nil
}

// listCalibration answers GET /api/v1/calibration?status=open|fixed|released|cleared|all.
func (s *Server) listCalibration(c *gin.Context) {
	status := c.DefaultQuery("status", detectors.AlarmOpen)
	switch status {
	case detectors.AlarmOpen, detectors.AlarmFixed, detectors.AlarmReleased, detectors.AlarmCleared, "all":
	default:
		s.fail(c, &Error{Code: CodeInvalid, Field: "status", Message: "status must be open, fixed, released, cleared or all"})
		return
	}
	where, args := "status = ?", []any{status}
	if status == "all" {
		where, args = "true", nil
	}
	alarms, err := s.visibleAlarms(c, where, args...)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"alarms": alarms})
}

// resolveInput resolves an alarm.
type resolveInput struct {
	Resolution string `json:"resolution"` // fixed | released
	Note       string `json:"note"`       // what was fixed, or why the flags are real
}

// resolveCalibration answers POST /api/v1/calibration/{id}/resolve: an
// auditor or supervisor marks the alarm fixed (a table or convention was
// corrected; the next scan judges again) or released (the flags are real:
// they reopen and their cases open now).
func (s *Server) resolveCalibration(c *gin.Context) {
	var in resolveInput
	if err := c.ShouldBindJSON(&in); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: `body must be JSON {"resolution": "fixed"|"released", "note": "…"}`})
		return
	}
	busy, ok := s.writer.TryAcquire("calibration")
	if !ok {
		s.fail(c, &Error{Code: CodeConflict, Message: "the database is busy (" + busy + "); retry when it has finished"})
		return
	}
	defer s.writer.Release()
	u := currentUser(c)
	actor := "user:" + u.ID
	res, err := s.cases.ResolveAlarm(c.Request.Context(), c.Param("id"), actor, u.Role, in.Resolution, in.Note)
	switch {
	case errors.Is(err, casebook.ErrNotFound):
		s.fail(c, &Error{Code: CodeNotFound, Message: "no such calibration alarm"})
		return
	case errors.Is(err, casebook.ErrTransition):
		s.fail(c, &Error{Code: CodeConflict, Message: "the alarm is already resolved"})
		return
	case err != nil:
		s.fail(c, caseError(err))
		return
	}
	out := gin.H{"resolved": res}
	if res.Released > 0 {
		sum, err := s.cases.OpenCases(c.Request.Context(), actor)
		if err != nil {
			s.fail(c, err)
			return
		}
		out["cases"] = sum
	}
	c.JSON(http.StatusOK, out)
}

// scanGuard adds to a scan's status the money at risk of its open flags in
// the user's districts (each subject once, at its largest amount), the
// flag share of every rule against its population, and the calibration
// alarms the scan raised.
func (s *Server) scanGuard(c *gin.Context, id int64, cond string, args []any, out gin.H) error {
	ctx := c.Request.Context()
	var amount string
	if err := s.db.QueryRowContext(ctx, `WITH per AS (SELECT f.subject_type, f.subject_id, max(f.amount_at_risk) AS amount
			FROM flags f LEFT JOIN institutions i ON i.org_code = f.org_code
			WHERE f.scan_id = ? AND f.status = 'open' AND `+cond+` GROUP BY ALL)
		SELECT coalesce(sum(amount), 0)::DECIMAL(18,2)::VARCHAR FROM per`, append([]any{id}, args...)...).Scan(&amount); err != nil {
		return err
	}
	out["amount_at_risk"] = amount
	shares, err := detectors.RuleShares(ctx, s.db.DB, id)
	if err != nil {
		return err
	}
	out["rules"] = shares
	alarms, err := s.visibleAlarms(c, "scan_id = ?", id)
	if err != nil {
		return err
	}
	out["calibration_alarms"] = alarms
	return nil
}

func init() {
	// pct1 is a share as a percentage with one decimal (2.5%).
	funcs["pct1"] = func(x float64) string { return strconv.FormatFloat(x*100, 'f', 1, 64) + "%" }
}
