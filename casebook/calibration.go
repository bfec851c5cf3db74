package casebook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Resolutions of a calibration alarm (detectors.Alarm).
const (
	// ResolveFixed: the table or convention behind the alarm was fixed; the
	// held flags stay held and the next scan judges the rule again.
	ResolveFixed = "fixed"
	// ResolveReleased: confirmed real, release the flags: they reopen, cases
	// open for them, and later scans no longer hold that cell.
	ResolveReleased = "released"
)

// ResolveSummary is what resolving an alarm did.
type ResolveSummary struct {
	AlarmID  string `json:"alarm_id"`
	Status   string `json:"status"`
	Released int    `json:"flags_released"`
}

// ResolveAlarm resolves an open calibration alarm as fixed or released, as
// an event of the case audit trail (kind calibration_resolved, case id the
// alarm's id), in one transaction. Only auditors and supervisors resolve.
// A released alarm's held flags reopen; OpenCases then opens their cases.
func (s *Store) ResolveAlarm(ctx context.Context, alarmID, actor, role, resolution, note string) (ResolveSummary, error) {
	sum := ResolveSummary{AlarmID: alarmID, Status: resolution}
	if role != "auditor" && role != "supervisor" {
		return sum, ErrRole
	}
	if resolution != ResolveFixed && resolution != ResolveReleased {
		return sum, fmt.Errorf("%w: resolution must be %s or %s", ErrInvalid, ResolveFixed, ResolveReleased)
	}
	note = strings.TrimSpace(note)
	if note == "" {
		return sum, fmt.Errorf("%w: a note saying what was fixed or confirmed is required", ErrInvalid)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var status, detector string
		switch err := tx.QueryRowContext(ctx, `SELECT status, detector FROM calibration_alarms WHERE alarm_id = ?`, alarmID).Scan(&status, &detector); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case status != "open":
			return fmt.Errorf("%w: the alarm is %s, not open", ErrTransition, status)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE calibration_alarms SET status = ?, resolved_by = ?, resolved_at = ?, resolution_note = ?
			WHERE alarm_id = ?`, resolution, actor, now.UTC(), note, alarmID); err != nil {
			return err
		}
		if resolution == ResolveReleased {
			res, err := tx.ExecContext(ctx, `UPDATE flags SET status = 'open' WHERE status = 'suppressed'
				AND flag_id IN (SELECT flag_id FROM calibration_alarm_flags WHERE alarm_id = ?)`, alarmID)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			sum.Released = int(n)
			// Cases that already hold released flags show them open.
			if err := storeFilesWhere(ctx, tx, `SELECT DISTINCT case_id FROM case_flags
				WHERE flag_id IN (SELECT flag_id FROM calibration_alarm_flags WHERE alarm_id = ?)`, alarmID); err != nil {
				return err
			}
		}
		return appendEvent(ctx, tx, alarmID, actor, "calibration_resolved", now, map[string]any{
			"alarm_id": alarmID, "detector": detector, "resolution": resolution, "note": note, "role": role,
			"flags_released": sum.Released})
	})
	return sum, err
}
