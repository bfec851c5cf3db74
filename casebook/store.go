package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// Store keeps cases, the panel and the audit trail in the service's DuckDB
// database. Every change and its event are written in one transaction.
type Store struct {
	db       *sql.DB
	now      func() time.Time
	Limits   Limits
	Priority PriorityConfig
	lookup   atomic.Pointer[sql.Stmt] // StoredFile's statement, prepared at its first use
}

// NewStore returns a store over a migrated database.
func NewStore(db *sql.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now, Limits: DefaultLimits(), Priority: DefaultPriorityConfig()}
}

// ErrNotFound is returned for an unknown case or expert.
var ErrNotFound = errors.New("not found")

// ErrInvalid wraps a request the case cannot take (a recovery without a
// violation, a fine outside the article's range); its text is fit to show.
var ErrInvalid = errors.New("invalid request")

// appendEvent adds an event to the chain inside tx.
func appendEvent(ctx context.Context, tx *sql.Tx, caseID, actor, kind string, at time.Time, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return appendEvents(ctx, tx, []Event{{CaseID: caseID, Actor: actor, Kind: kind, At: at, Payload: string(body)}})
}

// appendEvents chains events, in order, after the trail's head inside tx
// and writes them with one statement, then moves the head.
func appendEvents(ctx context.Context, tx *sql.Tx, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	var prev *Event
	var seq int64
	var hash string
	switch err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("read audit head: %w", err)
	default:
		prev = &Event{Seq: seq, Hash: hash}
	}
	n := len(events)
	seqs, ats := make([]int64, n), make([]time.Time, n)
	cols := make([][]string, 6) // case_id, actor, kind, payload, prev_hash, hash
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i, e := range events {
		e.At = e.At.UTC().Truncate(time.Microsecond)
		e = Chain(prev, e)
		prev = &e
		seqs[i], ats[i] = e.Seq, e.At
		cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i] = e.CaseID, e.Actor, e.Kind, e.Payload, e.PrevHash, e.Hash
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO case_events SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),
		unnest(?::VARCHAR[]), unnest(?::TIMESTAMP[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])`,
		seqs, cols[0], cols[1], cols[2], ats, cols[3], cols[4], cols[5]); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO audit_head VALUES (1, ?, ?)`, prev.Seq, prev.Hash)
	return err
}

// writeMu serialises the casebook's write transactions in the process
// (the one process that writes the database): each appends to the one
// audit trail and moves its head, and DuckDB's optimistic concurrency fails
// all but one of concurrent appenders (a duplicate seq) instead of waiting.
var writeMu sync.Mutex

// inTx runs f in a transaction, one at a time. Before it commits, the
// case file of every case f appended an event to is stored again.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	writeMu.Lock()
	defer writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	var head int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_head`).Scan(&head); err != nil {
		tx.Rollback()
		return fmt.Errorf("read audit head: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := storeTouchedFiles(ctx, tx, head); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// VerifyTrail checks the whole audit trail and returns the number of events.
func (s *Store) VerifyTrail(ctx context.Context) (int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, case_id, actor, kind, event_at, payload, prev_hash, hash FROM case_events ORDER BY rowid`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Seq, &e.CaseID, &e.Actor, &e.Kind, &e.At, &e.Payload, &e.PrevHash, &e.Hash); err != nil {
			return 0, err
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var headSeq int64
	var headHash string
	if err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if headSeq == 0 && len(events) > 0 {
		return 0, &ChainError{Seq: 1, Reason: "events exist but the head record is missing"}
	}
	return int64(len(events)), VerifyChain(events, headSeq, headHash)
}

// AddExpert registers a member of the review panel.
func (s *Store) AddExpert(ctx context.Context, actor string, e Expert) error {
	if e.ID == "" || e.Name == "" || len(e.Specialties) == 0 || e.WeeklyCapacity < 1 || !contract.ValidRegionCode(string(e.District)) {
		return fmt.Errorf("expert %q: id, name, specialties, a 6-digit district and a positive weekly capacity are required", e.ID)
	}
	for _, sp := range e.Specialties {
		if _, ok := SpecialtyNames[sp]; !ok {
			return fmt.Errorf("expert %s: unknown specialty %q", e.ID, sp)
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO experts VALUES (?, ?, ?, ?, ?, ?, true)`,
			e.ID, e.Name, strings.Join(e.Specialties, ","), string(e.HomeOrg), string(e.District), e.WeeklyCapacity); err != nil {
			return fmt.Errorf("add expert %s: %w", e.ID, err)
		}
		return appendEvent(ctx, tx, "", actor, "expert_added", s.now(), map[string]any{"expert_id": e.ID, "specialties": e.Specialties})
	})
}

// experts returns the panel with each expert's open load.
func (s *Store) experts(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]Expert, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.expert_id, e.name, e.specialties, e.home_org, e.district, e.weekly_capacity, e.active,
		(SELECT count(*) FROM assignments a WHERE a.expert_id = e.expert_id AND a.submitted_at IS NULL)
		FROM experts e ORDER BY e.expert_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Expert
	for rows.Next() {
		var e Expert
		var specs, org, district string
		if err := rows.Scan(&e.ID, &e.Name, &specs, &org, &district, &e.WeeklyCapacity, &e.Active, &e.Load); err != nil {
			return nil, err
		}
		e.Specialties, e.HomeOrg, e.District = strings.Split(specs, ","), contract.OrgCode(org), contract.RegionCode(district)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Case is a case as stored.
type Case struct {
	ID              string       `json:"case_id"`
	SubjectType     string       `json:"subject_type"`
	SubjectID       string       `json:"subject_id"`
	OrgCode         string       `json:"org_code"`
	District        string       `json:"district"`
	Families        []string     `json:"families"`
	AmountAtRisk    contract.Fen `json:"amount_at_risk"`
	Priority        float64      `json:"priority"`
	Route           string       `json:"route"`
	Specialty       string       `json:"specialty"`
	SpecialtyGap    bool         `json:"specialty_gap"`
	State           State        `json:"state"`
	OpenedAt        time.Time    `json:"opened_at"`
	DueAt           *time.Time   `json:"due_at,omitempty"`
	Verdict         string       `json:"verdict,omitempty"`
	ViolationAmount contract.Fen `json:"violation_amount"`
	Recovered       contract.Fen `json:"recovered"`
	Fine            contract.Fen `json:"fine"`
}

// Get returns one case.
func (s *Store) Get(ctx context.Context, caseID string) (Case, error) {
	return s.get(ctx, s.db, caseID)
}

func (s *Store) get(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, caseID string) (Case, error) {
	c, err := scanCase(q.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM cases WHERE case_id = ?`, caseID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("case %s: %w", caseID, ErrNotFound)
	}
	return c, err
}

// caseColumns are the columns scanCase reads, in its order.
const caseColumns = `case_id, subject_type, subject_id, org_code, district, families, amount_at_risk::VARCHAR,
	priority, route, specialty, specialty_gap, state, opened_at, due_at, verdict, coalesce(violation_amount, 0)::VARCHAR,
	recovered::VARCHAR, fine::VARCHAR`

// scanCase reads caseColumns, then extra columns into extra.
func scanCase(row interface{ Scan(...any) error }, extra ...any) (Case, error) {
	var c Case
	var fams, amount, viol, rec, fine string
	var org, district, spec, verdict sql.NullString
	var due sql.NullTime
	err := row.Scan(append([]any{&c.ID, &c.SubjectType, &c.SubjectID, &org, &district, &fams, &amount, &c.Priority, &c.Route, &spec, &c.SpecialtyGap,
		&c.State, &c.OpenedAt, &due, &verdict, &viol, &rec, &fine}, extra...)...)
	if err != nil {
		return c, err
	}
	c.OrgCode, c.District, c.Specialty, c.Verdict = org.String, district.String, spec.String, verdict.String
	c.Families = strings.Split(fams, ",")
	c.OpenedAt = glossary.CST(c.OpenedAt)
	if due.Valid {
		d := glossary.CST(due.Time)
		c.DueAt = &d
	}
	for _, p := range []struct {
		s string
		f *contract.Fen
	}{{amount, &c.AmountAtRisk}, {viol, &c.ViolationAmount}, {rec, &c.Recovered}, {fine, &c.Fine}} {
		v, err := contract.ParseDecimal(p.s, 2)
		if err != nil {
			return c, err
		}
		*p.f = contract.Fen(v)
	}
	return c, nil
}

// transition moves a case with action a inside tx and records the event.
func (s *Store) transition(ctx context.Context, tx *sql.Tx, c Case, actor, role string, a Action, payload map[string]any) (State, error) {
	next, err := Next(c.State, a, role)
	if err != nil {
		return c.State, err
	}
	now := s.now()
	var due any
	if d := s.Limits.Due(next, now); !d.IsZero() {
		due = d
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET state = ?, updated_at = ?, due_at = ? WHERE case_id = ?`, string(next), now, due, c.ID); err != nil {
		return c.State, err
	}
	if payload == nil {
		payload = map[string]any{}
	}
	payload["from"], payload["to"], payload["role"] = c.State, next, role
	return next, appendEvent(ctx, tx, c.ID, actor, string(a), now, payload)
}

// Act applies an action that needs no more data than a note (triage,
// dismiss, appeal, finalize, close).
func (s *Store) Act(ctx context.Context, caseID, actor, role string, a Action, note string) error {
	switch a {
	case ActToPanel, ActDecide, ActRecover:
		return fmt.Errorf("%s needs its own call", a)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.get(ctx, tx, caseID)
		if err != nil {
			return err
		}
		_, err = s.transition(ctx, tx, c, actor, role, a, map[string]any{"note": note})
		return err
	})
}

// SendToPanel moves a triaged panel case to review and assigns two
// independent reviewers, never from the flagged institution or its district.
func (s *Store) SendToPanel(ctx context.Context, caseID, actor, role string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.get(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if c.Route != "panel" {
			return fmt.Errorf("%w: case %s has no clinical flag: it is decided by the auditors", ErrInvalid, caseID)
		}
		if _, err := s.transition(ctx, tx, c, actor, role, ActToPanel, nil); err != nil {
			return err
		}
		return s.assign(ctx, tx, c, 1, 2, nil)
	})
}

func (s *Store) assign(ctx context.Context, tx *sql.Tx, c Case, round, n int, exclude map[string]bool) error {
	experts, err := s.experts(ctx, tx)
	if err != nil {
		return err
	}
	picked, gap, err := Pick(experts, c.ID, c.Specialty, contract.OrgCode(c.OrgCode), contract.RegionCode(c.District), exclude, n)
	if err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	now := s.now()
	due := s.Limits.Due(PanelReview, now)
	var ids []string
	for _, e := range picked {
		if _, err := tx.ExecContext(ctx, `INSERT INTO assignments (case_id, expert_id, round, assigned_at, due_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, e.ID, round, now, due); err != nil {
			return err
		}
		ids = append(ids, e.ID)
	}
	if gap {
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET specialty_gap = true WHERE case_id = ?`, c.ID); err != nil {
			return err
		}
	}
	return appendEvent(ctx, tx, c.ID, "system:routing", "assigned", now, map[string]any{"experts": ids, "round": round, "specialty_gap": gap})
}

// reviews reads a case's assignments.
func (s *Store) reviews(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, caseID string) ([]Review, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+reviewColumns+` FROM assignments WHERE case_id = ? ORDER BY round, assigned_at, expert_id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// reviewColumns are the columns of assignments scanReview reads.
const reviewColumns = `expert_id, round, assigned_at, due_at, submitted_at, coalesce(verdict, ''),
	coalesce(violation_amount, 0)::VARCHAR, coalesce(comment, '')`

// scanReview reads reviewColumns, then extra columns into extra.
func scanReview(rows *sql.Rows, extra ...any) (Review, error) {
	var r Review
	var sub sql.NullTime
	var v, amount string
	if err := rows.Scan(append([]any{&r.ExpertID, &r.Round, &r.AssignedAt, &r.DueAt, &sub, &v, &amount, &r.Comment}, extra...)...); err != nil {
		return r, err
	}
	r.AssignedAt, r.DueAt = glossary.CST(r.AssignedAt), glossary.CST(r.DueAt)
	if sub.Valid {
		r.SubmittedAt = glossary.CST(sub.Time)
	}
	r.Verdict = Verdict(v)
	a, err := contract.ParseDecimal(amount, 2)
	if err != nil {
		return r, err
	}
	r.ViolationAmount = contract.Fen(a)
	return r, nil
}

// SubmitVerdict records a reviewer's verdict. When both independent verdicts
// agree (or a third settles a disagreement) the case is decided by the
// panel; a disagreement assigns a third reviewer.
func (s *Store) SubmitVerdict(ctx context.Context, caseID, expertID string, v Verdict, amount contract.Fen, comment string) (Outcome, error) {
	var out Outcome
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.get(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if c.State != PanelReview {
			return fmt.Errorf("%w: case %s is %s, not under panel review", ErrTransition, caseID, c.State)
		}
		rs, err := s.reviews(ctx, tx, caseID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := Submit(rs, expertID, v, amount, c.AmountAtRisk, comment, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET submitted_at = ?, verdict = ?, violation_amount = ?::DECIMAL(18,2), comment = ?
			WHERE case_id = ? AND expert_id = ?`, now, string(v), amount.String(), comment, caseID, expertID); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, caseID, expertID, "verdict", now, map[string]any{"verdict": v, "violation_amount": amount.String(), "comment": comment}); err != nil {
			return err
		}
		out = Decide(rs)
		switch {
		case out.NeedsThird:
			exclude := map[string]bool{}
			for _, r := range rs {
				exclude[r.ExpertID] = true
			}
			return s.assign(ctx, tx, c, 2, 1, exclude)
		case out.Done:
			return s.decide(ctx, tx, c, "system:panel", RoleSystem, out.Verdict, out.Amount, map[string]any{"agreement": out.Agreement})
		}
		return nil
	})
	return out, err
}

func (s *Store) decide(ctx context.Context, tx *sql.Tx, c Case, actor, role string, v Verdict, amount contract.Fen, payload map[string]any) error {
	if !v.Valid() || (v == Violation) != (amount > 0) || amount > c.AmountAtRisk {
		return ErrAmount
	}
	if payload == nil {
		payload = map[string]any{}
	}
	payload["verdict"], payload["violation_amount"] = v, amount.String()
	if _, err := s.transition(ctx, tx, c, actor, role, ActDecide, payload); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE cases SET verdict = ?, violation_amount = ?::DECIMAL(18,2) WHERE case_id = ?`, string(v), amount.String(), c.ID)
	return err
}

// Decide records an auditor's decision on a case that does not go to the
// panel (absolute flags, card, pharmacy, substitution and settlement cases).
func (s *Store) Decide(ctx context.Context, caseID, actor, role string, v Verdict, amount contract.Fen, note string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.get(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if c.State == PanelReview {
			return fmt.Errorf("%w: case %s is with the review panel", ErrTransition, caseID)
		}
		return s.decide(ctx, tx, c, actor, role, v, amount, map[string]any{"note": note})
	})
}

// RecordRecovery records money recovered (追回) and the fine imposed.
func (s *Store) RecordRecovery(ctx context.Context, caseID, actor, role string, recovered contract.Fen, basis Basis, percent int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.get(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if c.Verdict != string(Violation) {
			return fmt.Errorf("%w: case %s has no violation to recover", ErrInvalid, caseID)
		}
		if recovered <= 0 || c.Recovered+recovered > c.ViolationAmount {
			return fmt.Errorf("%w: recovered amounts must be positive and total at most the violating amount %s", ErrInvalid, c.ViolationAmount)
		}
		fine, err := Fine(c.ViolationAmount, basis, percent)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if _, err := s.transition(ctx, tx, c, actor, role, ActRecover, map[string]any{
			"recovered": recovered.String(), "fine": fine.String(), "basis": basis, "percent": percent}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE cases SET recovered = recovered + ?::DECIMAL(18,2), fine = ?::DECIMAL(18,2), fine_basis = ? WHERE case_id = ?`,
			recovered.String(), fine.String(), string(basis), caseID)
		return err
	})
}

// ReviewerCase is what a reviewer sees of a case before all verdicts are in:
// no detector score, no other reviewer's verdict.
type ReviewerCase struct {
	Case         Case     `json:"case"`
	Reviews      []Review `json:"reviews"`
	ScoreVisible bool     `json:"score_visible"`
}

// ReviewerView returns a case as expertID may see it, or ErrNotAssigned.
func (s *Store) ReviewerView(ctx context.Context, caseID, expertID string) (ReviewerCase, error) {
	c, err := s.Get(ctx, caseID)
	if err != nil {
		return ReviewerCase{}, err
	}
	rs, err := s.reviews(ctx, s.db, caseID)
	if err != nil {
		return ReviewerCase{}, err
	}
	vis, err := VisibleReviews(rs, expertID)
	if err != nil {
		return ReviewerCase{}, err
	}
	rc := ReviewerCase{Case: c, Reviews: vis, ScoreVisible: ScoreVisible(rs, expertID)}
	if !rc.ScoreVisible {
		rc.Case.Priority = 0 // the priority is derived from the detector score
	}
	return rc, nil
}

// Queue lists the cases waiting for expertID's verdict, by priority then deadline.
func (s *Store) Queue(ctx context.Context, expertID string) ([]Case, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.case_id FROM cases c JOIN assignments a USING (case_id)
		WHERE a.expert_id = ? AND a.submitted_at IS NULL AND c.state = 'panel_review'
		ORDER BY c.priority DESC, a.due_at, c.case_id`, expertID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Case, 0, len(ids))
	for _, id := range ids {
		c, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		c.Priority = 0 // reviewers do not see scores before voting
		out = append(out, c)
	}
	return out, nil
}

// RulePrecision is each detector's precision measured by final panel and
// auditor decisions: violations ÷ decided cases among the cases carrying
// one of its flags.
func (s *Store) RulePrecision(ctx context.Context) (map[string]float64, map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.detector, count(*) FILTER (WHERE c.verdict = 'violation'), count(*)
		FROM cases c JOIN case_flags cf USING (case_id) JOIN flags f USING (flag_id)
		WHERE c.verdict IN ('violation', 'no_violation') GROUP BY f.detector ORDER BY f.detector`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	prec, n := map[string]float64{}, map[string]int{}
	for rows.Next() {
		var det string
		var tp, all int
		if err := rows.Scan(&det, &tp, &all); err != nil {
			return nil, nil, err
		}
		prec[det], n[det] = float64(tp)/float64(all), all
	}
	return prec, n, rows.Err()
}

// Agreement is Cohen's κ of the two independent reviewers, per specialty
// and per rule, over the cases both have submitted.
func (s *Store) Agreement(ctx context.Context) (bySpecialty, byRule map[string]float64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.case_id, c.specialty, list(a.verdict ORDER BY a.expert_id),
		(SELECT list(DISTINCT f.detector ORDER BY f.detector) FROM case_flags cf JOIN flags f USING (flag_id) WHERE cf.case_id = c.case_id)
		FROM cases c JOIN assignments a USING (case_id)
		WHERE a.round = 1 AND a.submitted_at IS NOT NULL GROUP BY c.case_id, c.specialty HAVING count(*) = 2 ORDER BY c.case_id`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	type pair struct{ a, b []Verdict }
	spec, rule := map[string]*pair{}, map[string]*pair{}
	add := func(m map[string]*pair, k string, x, y Verdict) {
		p, ok := m[k]
		if !ok {
			p = &pair{}
			m[k] = p
		}
		p.a, p.b = append(p.a, x), append(p.b, y)
	}
	for rows.Next() {
		var id, sp string
		var verdicts, dets []any
		if err := rows.Scan(&id, &sp, &verdicts, &dets); err != nil {
			return nil, nil, err
		}
		x, y := Verdict(fmt.Sprint(verdicts[0])), Verdict(fmt.Sprint(verdicts[1]))
		add(spec, sp, x, y)
		for _, d := range dets {
			add(rule, fmt.Sprint(d), x, y)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	bySpecialty, byRule = map[string]float64{}, map[string]float64{}
	for k, p := range spec {
		bySpecialty[k] = Kappa(p.a, p.b)
	}
	for k, p := range rule {
		byRule[k] = Kappa(p.a, p.b)
	}
	return bySpecialty, byRule, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SetRuleMode puts a detector in shadow (its flags open no cases) or back
// to active.
func (s *Store) SetRuleMode(ctx context.Context, actor, detector, mode string) error {
	if mode != "active" && mode != "shadow" {
		return fmt.Errorf("mode %q: want active or shadow", mode)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO rule_settings VALUES (?, ?)`, detector, mode); err != nil {
			return err
		}
		return appendEvent(ctx, tx, "", actor, "rule_mode", s.now(), map[string]any{"detector": detector, "mode": mode})
	})
}
