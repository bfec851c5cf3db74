package detectors

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// SQLDetector is a detector whose whole logic is one query (see the package
// doc for the query's columns). Thresholds are DuckDB variables.
type SQLDetector struct {
	Rule
	query string
}

// NewSQL returns a SQL detector; params override threshold defaults.
func NewSQL(info Info, query string, params map[string]float64) (*SQLDetector, error) {
	r, err := NewRule(info, params)
	if err != nil {
		return nil, err
	}
	return &SQLDetector{Rule: r, query: strings.TrimRight(strings.TrimSpace(query), ";")}, nil
}

// Query returns the SQL text with its configured thresholds set first.
func (d *SQLDetector) Query() string {
	return d.WithVariables(fmt.Sprintf(`SELECT subject_id::VARCHAR, coalesce(org_code, '')::VARCHAR, score::DOUBLE,
	coalesce(amount_at_risk, 0)::DECIMAL(18,2)::VARCHAR, summary::VARCHAR, facts::VARCHAR, coalesce(score_parts::VARCHAR, '')
FROM (
%s
) ORDER BY 1`, d.query))
}

// Detect implements Detector.
func (d *SQLDetector) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	rows, err := q.QueryContext(ctx, d.Query())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.info.Name, err)
	}
	defer rows.Close()
	var flags []Flag
	for rows.Next() {
		var subject, org, amount, summary, facts, parts string
		var score float64
		if err := rows.Scan(&subject, &org, &score, &amount, &summary, &facts, &parts); err != nil {
			return nil, fmt.Errorf("%s: %w", d.info.Name, err)
		}
		fen, err := contract.ParseDecimal(amount, 2)
		if err != nil {
			return nil, fmt.Errorf("%s: amount %q: %w", d.info.Name, amount, err)
		}
		var fm map[string]any
		if err := json.Unmarshal([]byte(facts), &fm); err != nil {
			return nil, fmt.Errorf("%s: facts of %s are not a JSON object: %w", d.info.Name, subject, err)
		}
		var pm map[string]float64
		if parts != "" {
			if err := json.Unmarshal([]byte(parts), &pm); err != nil {
				return nil, fmt.Errorf("%s: score parts of %s: %w", d.info.Name, subject, err)
			}
		}
		flags = append(flags, d.Flag(subject, org, score, contract.Fen(fen), summary, fm, pm))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", d.info.Name, err)
	}
	return flags, ctx.Err()
}

// Store runs the query and inserts its flags into table (the columns of
// new_flags: flag_id, detector, family, subject_type, subject_id, org_code,
// score, amount_at_risk, override_class, evidence) without bringing them to
// Go: the evidence is assembled in SQL around the query's facts, in the
// frame Rule.Flag gives it. A row without a subject, a summary or facts as a
// JSON object, or with a negative amount, fails the statement as it would
// fail Flag.Validate. It returns the number of flags stored.
func (d *SQLDetector) Store(ctx context.Context, q Querier, table string) (int64, error) {
	head, thresholds, tail, err := d.evidenceFrame()
	if err != nil {
		return 0, err
	}
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	i := d.info
	stmt := d.WithVariables(fmt.Sprintf(`INSERT INTO %s
SELECT 'F' || left(sha256(%s || chr(0) || %s || chr(0) || subject_id), 16), %s, %s, %s, subject_id, org_code, score, amount, %s,
       %s || to_json(summary)::VARCHAR || ',"facts":' || facts || %s
           || CASE WHEN parts IN ('', '{}') THEN '' ELSE ',"score_parts":' || parts END
           || ',"amount_at_risk":' || to_json(amount::VARCHAR)::VARCHAR || %s
FROM (
    SELECT subject_id::VARCHAR AS subject_id, coalesce(org_code, '')::VARCHAR AS org_code,
           greatest(least(score::DOUBLE, 1), 0) AS score, coalesce(amount_at_risk, 0)::DECIMAL(18,2) AS amount,
           summary::VARCHAR AS summary, facts::VARCHAR AS facts, coalesce(score_parts::VARCHAR, '') AS parts
    FROM (
%s
    )
)
WHERE CASE WHEN coalesce(subject_id, '') = '' OR coalesce(summary, '') = '' OR facts IS NULL OR json_type(facts::JSON) <> 'OBJECT' OR facts = '{}'
           THEN error('flag of ' || %s || ' on ' || coalesce(subject_id, '?') || ': missing subject or evidence')
           WHEN amount < 0 THEN error('flag of ' || %s || ' on ' || subject_id || ': negative amount at risk')
           ELSE true END`,
		table, lit(i.Name), lit(i.SubjectType), lit(i.Name), lit(i.Family), lit(i.SubjectType), lit(string(i.Override)),
		lit(head), lit(thresholds), lit(tail), d.query, lit(i.Name), lit(i.Name)))
	res, err := q.ExecContext(ctx, stmt)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", i.Name, err)
	}
	return res.RowsAffected()
}

// evidenceFrame returns the JSON text of the evidence around a flag's
// summary: what comes before it, between its facts and its score parts
// (the thresholds in force), and after its amount (the caveats), as
// Rule.Flag and json.Marshal would write them.
func (d *SQLDetector) evidenceFrame() (head, thresholds, tail string, err error) {
	js := func(v any) string {
		b, e := json.Marshal(v)
		if e != nil {
			err = e
		}
		return string(b)
	}
	i := d.info
	head = `{"rule":` + js(i.Name) + `,"title":` + js(i.Title)
	if i.Basis != "" {
		head += `,"rule_basis":` + js(i.Basis)
	}
	head += `,"summary":`
	thresholds = `,"thresholds":` + js(d.params)
	tail = "}"
	if len(i.Caveats) > 0 {
		tail = `,"caveats":` + js(i.Caveats) + "}"
	}
	return head, thresholds, tail, err
}
