package casebook

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/medaudit/medaudit/codes"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// caseRecord is the part of a case file read from the loaded records,
// with the ID number and the name masked (File reads them unmasked from
// persons for the roles that need them).
type caseRecord struct {
	Institution Institution    `json:"institution"`
	Stay        *Stay          `json:"stay,omitempty"`
	Days        []Day          `json:"days,omitempty"`
	Outside     []OutsideEvent `json:"outside_activity,omitempty"`
}

// recordKey names the case a record is built for.
type recordKey struct {
	caseID, subjectType, subjectID, org string
}

// buildRecords assembles the records of the cases keys names with four
// set-based queries (institutions, stays, days, activity elsewhere),
// whatever their number.
func buildRecords(ctx context.Context, q querier, keys []recordKey) (map[string]*caseRecord, error) {
	out := make(map[string]*caseRecord, len(keys))
	var orgs, stayCases, staySubjects, stayOrgs []string
	byOrg := map[string][]*caseRecord{}
	for _, k := range keys {
		r := &caseRecord{}
		out[k.caseID] = r
		if k.org != "" {
			if len(byOrg[k.org]) == 0 {
				orgs = append(orgs, k.org)
			}
			byOrg[k.org] = append(byOrg[k.org], r)
		}
		if k.subjectType == contract.SubjectSettlement {
			stayCases, staySubjects, stayOrgs = append(stayCases, k.caseID), append(staySubjects, k.subjectID), append(stayOrgs, k.org)
		}
	}
	if len(orgs) > 0 {
		rows, err := q.QueryContext(ctx, `SELECT org_code, name, kind, level FROM institutions WHERE org_code IN (SELECT unnest(?::VARCHAR[]))`, orgs)
		if err != nil {
			return nil, fmt.Errorf("read institutions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var in Institution
			if err := rows.Scan(&in.Code, &in.Name, &in.Kind, &in.Level); err != nil {
				return nil, err
			}
			for _, r := range byOrg[in.Code] {
				r.Institution = in
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(stayCases) == 0 {
		return out, nil
	}
	if err := buildStays(ctx, q, out, stayCases, staySubjects, stayOrgs); err != nil {
		return nil, fmt.Errorf("read stays: %w", err)
	}
	return out, nil
}

// stayList is the CTE of the stays asked for: case, settlement, the case's
// institution, and the stay's first and last moment.
const stayList = `WITH k AS (SELECT unnest(?::VARCHAR[]) AS case_id, unnest(?::VARCHAR[]) AS settlement_id, unnest(?::VARCHAR[]) AS case_org),
	st AS (SELECT k.case_id, k.case_org, s.settlement_id, s.person_id, s.admitted_at AS t0, coalesce(s.discharged_at, s.admitted_at) AS t1
		FROM k JOIN settlements s USING (settlement_id))
`

// buildStays fills the stay, its days and the activity elsewhere of the
// settlement cases.
func buildStays(ctx context.Context, q querier, out map[string]*caseRecord, cases, subjects, orgs []string) error {
	rows, err := q.QueryContext(ctx, stayList+`SELECT k.case_id, s.settlement_id, s.person_id, p.id_number, p.name, p.sex, p.birth_date,
		s.insured_region, s.visit_type, s.admitted_at, s.discharged_at, s.diagnosis_code, s.dept_code, s.total_amount::VARCHAR,
		s.fund_paid::VARCHAR, s.account_paid::VARCHAR, s.cash_paid::VARCHAR
		FROM k JOIN settlements s USING (settlement_id) JOIN persons p ON p.person_id = s.person_id`, cases, subjects, orgs)
	if err != nil {
		return err
	}
	defer rows.Close()
	ends := map[string]time.Time{}
	for rows.Next() {
		st := &Stay{}
		var id string
		var dis sql.NullTime
		var dx, dept sql.NullString
		var total, fund, acct, cash string
		var birth time.Time
		if err := rows.Scan(&id, &st.SettlementID, &st.PersonID, &st.IDNumber, &st.Name, &st.Sex, &birth, &st.InsuredRegion, &st.VisitType,
			&st.AdmittedAt, &dis, &dx, &dept, &total, &fund, &acct, &cash); err != nil {
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
		st.IDNumber, st.Name = contract.MaskIDNumber(st.IDNumber), MaskName(st.Name)
		out[id].Stay, ends[id] = st, end
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if err := buildDays(ctx, q, out, ends, cases, subjects, orgs); err != nil {
		return err
	}
	// Stay and swipe times are local clock times without a zone (CONTRACT.md):
	// from here on they carry Asia/Shanghai, so the API writes +08:00.
	for id := range ends {
		st := out[id].Stay
		st.AdmittedAt = glossary.Local(st.AdmittedAt)
		if st.DischargedAt != nil {
			d := glossary.Local(*st.DischargedAt)
			st.DischargedAt = &d
		}
	}
	orows, err := q.QueryContext(ctx, stayList+`SELECT e.case_id, e.event_at, e.org_code, coalesce(i.name, ''), coalesce(i.region_code, ''),
		e.kind, e.amount::VARCHAR FROM (
			SELECT st.case_id, o.admitted_at AS event_at, o.org_code, o.visit_type AS kind, o.total_amount AS amount
			FROM st JOIN settlements o ON o.person_id = st.person_id AND o.org_code <> st.case_org AND o.settlement_id <> st.settlement_id
				AND o.admitted_at BETWEEN st.t0 AND st.t1
			UNION ALL
			SELECT st.case_id, w.swiped_at, w.org_code, 'swipe:' || w.kind, w.amount
			FROM st JOIN card_swipes w ON w.person_id = st.person_id AND w.org_code <> st.case_org AND w.swiped_at BETWEEN st.t0 AND st.t1
		) e LEFT JOIN institutions i USING (org_code) ORDER BY e.case_id, e.event_at, e.org_code, e.kind`, cases, subjects, orgs)
	if err != nil {
		return err
	}
	defer orows.Close()
	for orows.Next() {
		var id, amount string
		var e OutsideEvent
		if err := orows.Scan(&id, &e.At, &e.OrgCode, &e.OrgName, &e.Region, &e.Kind, &amount); err != nil {
			return err
		}
		e.Amount, e.At = fen(amount), glossary.Local(e.At)
		if r := out[id]; r.Stay != nil {
			r.Outside = append(r.Outside, e)
		}
	}
	return orows.Err()
}

// buildDays fills the days of the stays: the charged amount and lines per
// fee category, every day of the stay present, charged or not.
func buildDays(ctx context.Context, q querier, out map[string]*caseRecord, ends map[string]time.Time, cases, subjects, orgs []string) error {
	byDay := map[string]map[string]*Day{}
	for id, end := range ends {
		days := map[string]*Day{}
		for d := out[id].Stay.AdmittedAt.Truncate(24 * time.Hour); !d.After(end); d = d.AddDate(0, 0, 1) {
			k := d.Format("2006-01-02")
			days[k] = &Day{Date: k, Amount: map[string]contract.Fen{}, Lines: map[string]int{}}
		}
		byDay[id] = days
	}
	rows, err := q.QueryContext(ctx, stayList+`SELECT st.case_id, strftime(f.charged_at, '%Y-%m-%d'), f.category, sum(f.amount)::VARCHAR, count(*)
		FROM st JOIN fee_items f USING (settlement_id) GROUP BY ALL`, cases, subjects, orgs)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, d, cat, amount string
		var n int
		if err := rows.Scan(&id, &d, &cat, &amount, &n); err != nil {
			return err
		}
		days, ok := byDay[id]
		if !ok {
			continue
		}
		day, ok := days[d]
		if !ok {
			day = &Day{Date: d, Amount: map[string]contract.Fen{}, Lines: map[string]int{}}
			days[d] = day
		}
		day.Amount[cat], day.Lines[cat] = fen(amount), n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for id, days := range byDay {
		r := out[id]
		for _, k := range sortedKeys(days) {
			r.Days = append(r.Days, *days[k])
		}
	}
	return nil
}
