package casebook

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// Overdue escalation. A case still not closed after its due date is
// escalated once per deadline: an "overdue" event by the scheduler in the
// audit trail and a row in case_overdue (whose key, case and deadline,
// makes a second escalation of the same deadline a no-op; a new deadline,
// after an appeal or a new round, is escalated again). Supervisors see
// the escalated cases of their districts; the monthly report lists them.

// OverdueCase is an open case past its due date.
type OverdueCase struct {
	ID           string       `json:"case_id"`
	OrgCode      string       `json:"org_code"`
	District     string       `json:"district"`
	State        State        `json:"state"`
	AmountAtRisk contract.Fen `json:"amount_at_risk"`
	DueAt        time.Time    `json:"due_at"`
	NoticedAt    *time.Time   `json:"escalated_at,omitempty"` // when the scheduler recorded it; nil until it has run
	DaysOverdue  int          `json:"days_overdue"`
}

// EscalateOverdue records every case past its due date that has not yet
// been escalated for that date, and returns how many it escalated.
func (s *Store) EscalateOverdue(ctx context.Context, actor string) (int, error) {
	now := s.now().UTC()
	rows, err := s.db.QueryContext(ctx, `SELECT c.case_id, c.due_at, c.state FROM cases c
		WHERE c.due_at IS NOT NULL AND c.due_at < ? AND c.state <> ?
		  AND NOT EXISTS (SELECT 1 FROM case_overdue o WHERE o.case_id = c.case_id AND o.due_at = c.due_at)
		ORDER BY c.due_at, c.case_id`, now, string(Closed))
	if err != nil {
		return 0, fmt.Errorf("find overdue cases: %w", err)
	}
	type due struct {
		id    string
		at    time.Time
		state string
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.at, &d.state); err != nil {
			rows.Close()
			return 0, err
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range list {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			// Re-checked inside the transaction: a case closed or escalated
			// meanwhile is left alone.
			var still int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cases c WHERE c.case_id = ? AND c.due_at = ? AND c.state <> ?
				AND NOT EXISTS (SELECT 1 FROM case_overdue o WHERE o.case_id = c.case_id AND o.due_at = c.due_at)`,
				d.id, d.at, string(Closed)).Scan(&still); err != nil || still == 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO case_overdue VALUES (?, ?, ?)`, d.id, d.at, now); err != nil {
				return err
			}
			n++
			return appendEvent(ctx, tx, d.id, actor, "overdue", now, map[string]any{
				"due_at": d.at.UTC().Format(time.RFC3339), "state": d.state, "days_overdue": int(now.Sub(d.at).Hours() / 24)})
		})
		if err != nil {
			return n, fmt.Errorf("escalate case %s: %w", d.id, err)
		}
	}
	return n, nil
}

// Overdue lists the cases past their due date that are not closed, in the
// given districts (nil: all), most overdue first.
func (s *Store) Overdue(ctx context.Context, districts []string) ([]OverdueCase, error) {
	now := s.now().UTC()
	conds, args := []string{"c.due_at IS NOT NULL", "c.due_at < ?", "c.state <> ?"}, []any{now, string(Closed)}
	if districts != nil {
		if len(districts) == 0 {
			return nil, nil
		}
		conds, args = append(conds, "c.district IN "+placeholders(len(districts))), appendStrings(args, districts)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.case_id, coalesce(c.org_code, ''), coalesce(c.district, ''), c.state, c.amount_at_risk::VARCHAR, c.due_at, o.noticed_at
		FROM cases c LEFT JOIN case_overdue o ON o.case_id = c.case_id AND o.due_at = c.due_at
		WHERE `+strings.Join(conds, " AND ")+` ORDER BY c.due_at, c.case_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list overdue cases: %w", err)
	}
	defer rows.Close()
	out := []OverdueCase{}
	for rows.Next() {
		var o OverdueCase
		var amount string
		if err := rows.Scan(&o.ID, &o.OrgCode, &o.District, &o.State, &amount, &o.DueAt, &o.NoticedAt); err != nil {
			return nil, err
		}
		if o.AmountAtRisk, err = contract.ParseFen(amount); err != nil {
			return nil, err
		}
		o.DaysOverdue = int(now.Sub(o.DueAt).Hours() / 24)
		out = append(out, o)
	}
	return out, rows.Err()
}
