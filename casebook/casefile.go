package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medaudit/medaudit/codes"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// CaseFile is everything an auditor files about a case and a reviewer reads:
// the subject, the medical record summary, the stay day by day, activity
// elsewhere during the stay, the flags with their evidence, the reviews and
// the audit trail.
type CaseFile struct {
	Case        Case           `json:"case"`
	Institution Institution    `json:"institution"`
	Stay        *Stay          `json:"stay,omitempty"`
	Days        []Day          `json:"days,omitempty"`
	Outside     []OutsideEvent `json:"outside_activity,omitempty"`
	Flags       []CaseFlag     `json:"flags"`
	Reviews     []Review       `json:"reviews"`
	Events      []Event        `json:"events"`
	Sample      *CaseSample    `json:"sample,omitempty"` // the recovery sample of an institution case
}

// Institution is the flagged institution.
type Institution struct {
	Code  string `json:"org_code"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Level int    `json:"level"`
}

// Stay is the medical record summary of a settlement subject.
type Stay struct {
	SettlementID  string       `json:"settlement_id"`
	PersonID      string       `json:"person_id"`
	IDNumber      string       `json:"id_number"` // masked unless the viewer's role needs it
	Name          string       `json:"name"`      // masked likewise
	Sex           int          `json:"sex"`
	Age           int          `json:"age"`
	InsuredRegion string       `json:"insured_region"`
	VisitType     string       `json:"visit_type"`
	AdmittedAt    time.Time    `json:"admitted_at"`
	DischargedAt  *time.Time   `json:"discharged_at,omitempty"`
	LOS           int          `json:"los_days"`
	Diagnosis     string       `json:"diagnosis_code"`
	DiagnosisName string       `json:"diagnosis_name"`
	Dept          string       `json:"dept_code"`
	Total         contract.Fen `json:"total_amount"`
	Fund          contract.Fen `json:"fund_paid"`
	Account       contract.Fen `json:"account_paid"`
	Cash          contract.Fen `json:"cash_paid"`
}

// Day is one day of a stay: the charged amount per fee category.
type Day struct {
	Date   string                  `json:"date"`
	Amount map[string]contract.Fen `json:"amount"`
	Lines  map[string]int          `json:"lines"`
}

// OutsideEvent is the same person's settlement or card swipe at another
// institution during the stay.
type OutsideEvent struct {
	At      time.Time    `json:"at"`
	OrgCode string       `json:"org_code"`
	OrgName string       `json:"org_name"`
	Region  string       `json:"region"`
	Kind    string       `json:"kind"`
	Amount  contract.Fen `json:"amount"`
}

// CaseFlag is one flag of the case with its evidence.
type CaseFlag struct {
	FlagID   string          `json:"flag_id"`
	Detector string          `json:"detector"`
	Family   string          `json:"family"`
	Score    float64         `json:"score"`
	Amount   contract.Fen    `json:"amount_at_risk"`
	Override string          `json:"override_class"`
	Status   string          `json:"status"`
	Evidence json.RawMessage `json:"evidence"`
}

// File assembles the case file. unmasked keeps ID numbers and names.
func (s *Store) File(ctx context.Context, caseID string, unmasked bool) (CaseFile, error) {
	var f CaseFile
	var err error
	if f.Case, err = s.Get(ctx, caseID); err != nil {
		return f, err
	}
	if f.Case.OrgCode != "" {
		if err := s.db.QueryRowContext(ctx, `SELECT org_code, name, kind, level FROM institutions WHERE org_code = ?`, f.Case.OrgCode).
			Scan(&f.Institution.Code, &f.Institution.Name, &f.Institution.Kind, &f.Institution.Level); err != nil && err != sql.ErrNoRows {
			return f, err
		}
	}
	if f.Case.SubjectType == contract.SubjectSettlement {
		if err := s.stay(ctx, &f, unmasked); err != nil {
			return f, fmt.Errorf("case file %s: %w", caseID, err)
		}
	}
	if f.Flags, err = s.caseFlags(ctx, caseID); err != nil {
		return f, err
	}
	if f.Reviews, err = s.reviews(ctx, s.db, caseID); err != nil {
		return f, err
	}
	if f.Sample, err = s.SampleOf(ctx, caseID); err != nil {
		return f, err
	}
	f.Events, err = s.caseEvents(ctx, caseID)
	return f, err
}

func fen(s string) contract.Fen {
	v, _ := contract.ParseDecimal(s, 2)
	return contract.Fen(v)
}

func (s *Store) stay(ctx context.Context, f *CaseFile, unmasked bool) error {
	st := &Stay{}
	var dis sql.NullTime
	var dx, dept sql.NullString
	var total, fund, acct, cash string
	var birth time.Time
	err := s.db.QueryRowContext(ctx, `SELECT s.settlement_id, s.person_id, p.id_number, p.name, p.sex, p.birth_date, s.insured_region,
		s.visit_type, s.admitted_at, s.discharged_at, s.diagnosis_code, s.dept_code, s.total_amount::VARCHAR, s.fund_paid::VARCHAR,
		s.account_paid::VARCHAR, s.cash_paid::VARCHAR
		FROM settlements s JOIN persons p USING (person_id) WHERE s.settlement_id = ?`, f.Case.SubjectID).Scan(
		&st.SettlementID, &st.PersonID, &st.IDNumber, &st.Name, &st.Sex, &birth, &st.InsuredRegion, &st.VisitType,
		&st.AdmittedAt, &dis, &dx, &dept, &total, &fund, &acct, &cash)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return err
	}
	st.Diagnosis, st.Dept = dx.String, dept.String
	st.DiagnosisName = codes.DiagnosisName(st.Diagnosis)
	st.Total, st.Fund, st.Account, st.Cash = fen(total), fen(fund), fen(acct), fen(cash)
	st.Age = st.AdmittedAt.Year() - birth.Year()
	if st.AdmittedAt.YearDay() < birth.YearDay() {
		st.Age--
	}
	end := st.AdmittedAt
	if dis.Valid {
		st.DischargedAt, end = &dis.Time, dis.Time
	}
	st.LOS = int(end.Truncate(24*time.Hour).Sub(st.AdmittedAt.Truncate(24*time.Hour)).Hours()/24) + 1
	if !unmasked {
		st.IDNumber = contract.MaskIDNumber(st.IDNumber)
		st.Name = MaskName(st.Name)
	}
	f.Stay = st

	rows, err := s.db.QueryContext(ctx, `SELECT strftime(charged_at, '%Y-%m-%d'), category, sum(amount)::VARCHAR, count(*)
		FROM fee_items WHERE settlement_id = ? GROUP BY ALL ORDER BY 1, 2`, st.SettlementID)
	if err != nil {
		return err
	}
	byDay := map[string]*Day{}
	for rows.Next() {
		var d, cat, amount string
		var n int
		if err := rows.Scan(&d, &cat, &amount, &n); err != nil {
			rows.Close()
			return err
		}
		day, ok := byDay[d]
		if !ok {
			day = &Day{Date: d, Amount: map[string]contract.Fen{}, Lines: map[string]int{}}
			byDay[d] = day
		}
		day.Amount[cat], day.Lines[cat] = fen(amount), n
	}
	rows.Close()
	// Every day of the stay appears, charged or not.
	for d := st.AdmittedAt.Truncate(24 * time.Hour); !d.After(end); d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		if _, ok := byDay[k]; !ok {
			byDay[k] = &Day{Date: k, Amount: map[string]contract.Fen{}, Lines: map[string]int{}}
		}
	}
	for _, k := range sortedKeys(byDay) {
		f.Days = append(f.Days, *byDay[k])
	}
	// Stay and swipe times are local clock times without a zone (CONTRACT.md):
	// from here on they carry Asia/Shanghai, so the API writes +08:00.
	st.AdmittedAt = glossary.Local(st.AdmittedAt)
	if st.DischargedAt != nil {
		d := glossary.Local(*st.DischargedAt)
		st.DischargedAt = &d
	}

	orows, err := s.db.QueryContext(ctx, `SELECT e.event_at, e.org_code, coalesce(i.name, ''), coalesce(i.region_code, ''), e.kind, e.amount::VARCHAR FROM (
			SELECT o.admitted_at AS event_at, o.org_code, o.visit_type AS kind, o.total_amount AS amount FROM settlements o
			WHERE o.person_id = ? AND o.org_code <> ? AND o.settlement_id <> ? AND o.admitted_at BETWEEN ? AND ?
			UNION ALL
			SELECT w.swiped_at, w.org_code, 'swipe:' || w.kind, w.amount FROM card_swipes w
			WHERE w.person_id = ? AND w.org_code <> ? AND w.swiped_at BETWEEN ? AND ?
		) e LEFT JOIN institutions i USING (org_code) ORDER BY e.event_at, e.org_code, e.kind`,
		st.PersonID, f.Case.OrgCode, st.SettlementID, st.AdmittedAt, end, st.PersonID, f.Case.OrgCode, st.AdmittedAt, end)
	if err != nil {
		return err
	}
	defer orows.Close()
	for orows.Next() {
		var e OutsideEvent
		var amount string
		if err := orows.Scan(&e.At, &e.OrgCode, &e.OrgName, &e.Region, &e.Kind, &amount); err != nil {
			return err
		}
		e.Amount, e.At = fen(amount), glossary.Local(e.At)
		f.Outside = append(f.Outside, e)
	}
	return orows.Err()
}

func (s *Store) caseFlags(ctx context.Context, caseID string) ([]CaseFlag, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.flag_id, f.detector, f.family, f.score, f.amount_at_risk::VARCHAR, f.override_class, f.status, f.evidence::VARCHAR
		FROM case_flags cf JOIN flags f USING (flag_id) WHERE cf.case_id = ? ORDER BY f.score DESC, f.detector`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CaseFlag
	for rows.Next() {
		var cf CaseFlag
		var amount, ev string
		if err := rows.Scan(&cf.FlagID, &cf.Detector, &cf.Family, &cf.Score, &amount, &cf.Override, &cf.Status, &ev); err != nil {
			return nil, err
		}
		cf.Amount, cf.Evidence = fen(amount), json.RawMessage(ev)
		out = append(out, cf)
	}
	return out, rows.Err()
}

func (s *Store) caseEvents(ctx context.Context, caseID string) ([]Event, error) {
	evs, _, err := s.Events(ctx, EventFilter{CaseID: caseID, Limit: 1 << 30})
	return evs, err
}

// MaskName keeps the family name: 张建国 → 张**.
func MaskName(name string) string {
	r := []rune(name)
	if len(r) == 0 {
		return ""
	}
	out := string(r[0])
	for range r[1:] {
		out += "*"
	}
	return out
}

// Categories is the display order of fee categories with their Chinese names.
var Categories = []struct{ Key, Name string }{
	{"bed", "床位"}, {"nursing", "护理"}, {"drug", "药品"}, {"exam", "检查"}, {"lab", "化验"},
	{"treatment", "治疗"}, {"surgery", "手术"}, {"material", "材料"}, {"meal", "膳食"}, {"other", "其他"},
}
