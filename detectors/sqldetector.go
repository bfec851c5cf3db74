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
