package casebook

import (
	"context"
	"strings"
	"time"

	"github.com/medaudit/medaudit/internal/glossary"
)

// Filter selects cases to list. Empty fields match everything; Districts
// nil means every district (a user with "*"), an empty non-nil slice none.
type Filter struct {
	Districts []string
	State     State
	OrgCode   string
	Family    string
	Specialty string
	// Query matches a case id, the subject id, or the person id or card
	// number of a settlement case's settlement.
	Query  string
	Sort   string // priority (default), amount, due, opened
	Asc    bool   // ascending; the default is descending
	Limit  int
	Offset int
}

// SortColumns are the orders a case list can be sorted by.
var SortColumns = map[string]string{"priority": "priority", "amount": "amount_at_risk", "due": "due_at", "opened": "opened_at"}

// List returns the cases matching f, highest priority first, and how many
// match in all. Every filter value is a bound parameter.
func (s *Store) List(ctx context.Context, f Filter) ([]Case, int64, error) {
	conds := []string{"true"}
	var args []any
	if f.Districts != nil {
		if len(f.Districts) == 0 {
			return []Case{}, 0, nil
		}
		conds, args = append(conds, "district IN "+placeholders(len(f.Districts))), appendStrings(args, f.Districts)
	}
	for _, c := range []struct{ column, value string }{
		{"state", string(f.State)}, {"org_code", f.OrgCode}, {"specialty", f.Specialty},
	} {
		if c.value != "" {
			conds = append(conds, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if f.Family != "" {
		conds = append(conds, "list_contains(string_split(families, ','), ?)")
		args = append(args, f.Family)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		conds = append(conds, `(case_id = ? OR subject_id = ? OR (subject_type = 'settlement' AND subject_id IN
			(SELECT settlement_id FROM settlements WHERE person_id = ? OR card_no = ?)))`)
		args = append(args, q, q, q, q)
	}
	where := strings.Join(conds, " AND ")
	order, ok := SortColumns[f.Sort]
	if !ok {
		order = "priority"
	}
	dir := " DESC NULLS LAST"
	if f.Asc {
		dir = " ASC NULLS LAST"
	}
	var total int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM cases WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+caseColumns+` FROM cases WHERE `+where+`
		ORDER BY `+order+dir+`, case_id LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// EventFilter selects audit-trail events. Districts works as in Filter.
type EventFilter struct {
	Districts []string
	CaseID    string
	Actor     string
	Since     time.Time
	Limit     int
	Offset    int
}

// Events returns the audit-trail events matching f in chain order, and how
// many match in all.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, int64, error) {
	conds := []string{"true"}
	var args []any
	if f.Districts != nil {
		if len(f.Districts) == 0 {
			return []Event{}, 0, nil
		}
		conds = append(conds, "e.case_id IN (SELECT case_id FROM cases WHERE district IN "+placeholders(len(f.Districts))+")")
		args = appendStrings(args, f.Districts)
	}
	if f.CaseID != "" {
		conds = append(conds, "e.case_id = ?")
		args = append(args, f.CaseID)
	}
	if f.Actor != "" {
		conds = append(conds, "e.actor = ?")
		args = append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "e.event_at >= ?")
		args = append(args, f.Since)
	}
	where := strings.Join(conds, " AND ")
	var total int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM case_events e WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT e.seq, e.case_id, e.actor, e.kind, e.event_at, e.payload, e.prev_hash, e.hash
		FROM case_events e WHERE `+where+` ORDER BY e.seq LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Seq, &e.CaseID, &e.Actor, &e.Kind, &e.At, &e.Payload, &e.PrevHash, &e.Hash); err != nil {
			return nil, 0, err
		}
		e.At = glossary.CST(e.At)
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// placeholders is "(?, ?, …)" with n marks.
func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func appendStrings(args []any, vs []string) []any {
	for _, v := range vs {
		args = append(args, v)
	}
	return args
}
