package api

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/detectors"
)

// institution is one designated institution (定点医药机构).
type institution struct {
	OrgCode   string `json:"org_code"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Level     int    `json:"level"`
	District  string `json:"district"`
	Beds      *int64 `json:"beds,omitempty"`
	Specialty string `json:"specialty,omitempty"`
}

const institutionColumns = `org_code, name, kind, level, region_code, beds, coalesce(specialty, '')`

func scanInstitution(row interface{ Scan(...any) error }) (institution, error) {
	var i institution
	var beds sql.NullInt64
	err := row.Scan(&i.OrgCode, &i.Name, &i.Kind, &i.Level, &i.District, &beds, &i.Specialty)
	if beds.Valid {
		i.Beds = &beds.Int64
	}
	return i, err
}

// listInstitutions answers GET /api/v1/institutions: the institutions of
// the user's districts, optionally of one kind.
func (s *Server) listInstitutions(c *gin.Context) {
	limit, offset, err := paging(c, 100, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	cond, args := inDistricts(currentUser(c), "region_code")
	if k := c.Query("kind"); k != "" {
		cond += " AND kind = ?"
		args = append(args, k)
	}
	rows, err := s.db.QueryContext(c.Request.Context(), `SELECT `+institutionColumns+` FROM institutions WHERE `+cond+`
		ORDER BY org_code LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer rows.Close()
	out := []institution{}
	for rows.Next() {
		i, err := scanInstitution(rows)
		if err != nil {
			s.fail(c, err)
			return
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"institutions": out, "limit": limit, "offset": offset})
}

// scopedInstitution loads the institution in the path if it is in the
// user's districts, else not found.
func (s *Server) scopedInstitution(c *gin.Context) (institution, error) {
	i, err := scanInstitution(s.db.QueryRowContext(c.Request.Context(), `SELECT `+institutionColumns+` FROM institutions WHERE org_code = ?`, c.Param("org")))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !currentUser(c).Sees(i.District)) {
		return i, &Error{Code: CodeNotFound, Message: "no such institution"}
	}
	return i, err
}

// amountRow is a count and an amount, by some key.
type amountRow struct {
	Key    string       `json:"key"`
	Count  int64        `json:"count"`
	Amount contract.Fen `json:"amount"`
}

func (s *Server) amountRows(ctx context.Context, query string, args ...any) ([]amountRow, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []amountRow{}
	for rows.Next() {
		var r amountRow
		var amount string
		if err := rows.Scan(&r.Key, &r.Count, &amount); err != nil {
			return nil, err
		}
		if r.Amount, err = contract.ParseFen(amount); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// institutionProfile answers GET /api/v1/institutions/{org}: who it is,
// what it settled by visit type, its open flags by family and its cases by
// state.
func (s *Server) institutionProfile(c *gin.Context) {
	ctx := c.Request.Context()
	i, err := s.scopedInstitution(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := gin.H{"institution": i}
	for _, part := range []struct {
		key, query string
	}{
		{"settlements", `SELECT visit_type, count(*), sum(total_amount)::VARCHAR FROM settlements WHERE org_code = ? GROUP BY ALL ORDER BY 1`},
		{"fund_paid", `SELECT visit_type, count(*), sum(fund_paid)::VARCHAR FROM settlements WHERE org_code = ? GROUP BY ALL ORDER BY 1`},
		{"flags", `SELECT family, sum(n)::BIGINT, sum(a)::VARCHAR FROM (SELECT family, count(*) AS n, max(amount_at_risk) AS a
			FROM flags WHERE org_code = ? AND status = 'open' GROUP BY family, subject_type, subject_id) GROUP BY ALL ORDER BY 1`},
		{"cases", `SELECT state, count(*), sum(amount_at_risk)::VARCHAR FROM cases WHERE org_code = ? GROUP BY ALL ORDER BY 1`},
		{"recovered", `SELECT coalesce(fine_basis, 'none'), count(*), sum(recovered)::VARCHAR FROM cases WHERE org_code = ? AND recovered > 0 GROUP BY ALL ORDER BY 1`},
	} {
		rows, err := s.amountRows(ctx, part.query, i.OrgCode)
		if err != nil {
			s.fail(c, err)
			return
		}
		out[part.key] = rows
	}
	c.JSON(http.StatusOK, out)
}

// peerMetric is one rate of an institution against its peers (same kind
// and level): median, MAD and the robust z of its value.
type peerMetric struct {
	Metric string  `json:"metric"`
	Name   string  `json:"name"` // zh-CN
	Value  float64 `json:"value"`
	Median float64 `json:"peer_median"`
	MAD    float64 `json:"peer_mad"`
	Z      float64 `json:"robust_z"`
	Peers  int     `json:"peers"`
}

// peerMetrics are the rates compared, computed per institution in SQL.
var peerMetrics = []struct{ key, name, expr string }{
	{"avg_los_days", "平均住院日", `avg(CASE WHEN s.visit_type = 'inpatient' THEN date_diff('day', s.admitted_at, s.discharged_at) END)`},
	{"inpatient_cost_yuan", "次均住院费用（元）", `avg(CASE WHEN s.visit_type = 'inpatient' THEN s.total_amount END)::DOUBLE`},
	{"fund_share", "统筹支付占比", `(sum(s.fund_paid) / nullif(sum(s.total_amount), 0))::DOUBLE`},
	{"weekend_admission_share", "周末入院占比", `avg(CASE WHEN s.visit_type = 'inpatient' THEN (dayofweek(s.admitted_at) IN (0, 6))::INT END)`},
	{"cross_region_share", "异地就医结算占比", `avg((s.insured_region <> s.treatment_region)::INT)`},
}

// institutionPeers answers GET /api/v1/institutions/{org}/peers. The peer
// medians are statistics over every institution of the same kind and level
// (in all districts): only the aggregates are shown, never another
// district's institutions.
func (s *Server) institutionPeers(c *gin.Context) {
	ctx := c.Request.Context()
	i, err := s.scopedInstitution(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	q := `SELECT i.org_code`
	for _, m := range peerMetrics {
		q += ", " + m.expr
	}
	q += `, (SELECT count(*) FROM flags f WHERE f.org_code = i.org_code AND f.status = 'open') * 1000.0 / nullif(count(s.settlement_id), 0)
		FROM institutions i LEFT JOIN settlements s ON s.org_code = i.org_code
		WHERE i.kind = ? AND i.level = ? GROUP BY i.org_code`
	rows, err := s.db.QueryContext(ctx, q, i.Kind, i.Level)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer rows.Close()
	n := len(peerMetrics) + 1
	var own []sql.NullFloat64
	peers := make([][]float64, n)
	for rows.Next() {
		var org string
		vals := make([]sql.NullFloat64, n)
		dest := []any{&org}
		for k := range vals {
			dest = append(dest, &vals[k])
		}
		if err := rows.Scan(dest...); err != nil {
			s.fail(c, err)
			return
		}
		if org == i.OrgCode {
			own = vals
			continue
		}
		for k, v := range vals {
			if v.Valid {
				peers[k] = append(peers[k], v.Float64)
			}
		}
	}
	if err := rows.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out := []peerMetric{}
	for k := range n {
		key, name := "flags_per_1000_settlements", "每千次结算疑点数"
		if k < len(peerMetrics) {
			key, name = peerMetrics[k].key, peerMetrics[k].name
		}
		if own == nil || !own[k].Valid || len(peers[k]) == 0 {
			continue
		}
		z, med, mad := detectors.RobustZ(own[k].Float64, peers[k])
		out = append(out, peerMetric{Metric: key, Name: name, Value: own[k].Float64, Median: med, MAD: mad, Z: z, Peers: len(peers[k])})
	}
	c.JSON(http.StatusOK, gin.H{"institution": i, "peer_group": gin.H{"kind": i.Kind, "level": i.Level}, "metrics": out})
}

// institutionScore answers GET /api/v1/institutions/{org}/score?year=: the
// annual assessment score (年度考核) from the cases decided that year.
func (s *Server) institutionScore(c *gin.Context) {
	i, err := s.scopedInstitution(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	year, err := intQuery(c, "year", s.now().Year(), 2000, 2100)
	if err != nil {
		s.fail(c, err)
		return
	}
	rate, err := intQuery(c, "withheld", 1000, 0, 10_000)
	if err != nil {
		s.fail(c, err)
		return
	}
	scores, err := s.cases.AnnualScores(c.Request.Context(), year, []string{i.District}, rate, casebook.DefaultScoringRules())
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, sc := range scores {
		if sc.OrgCode == i.OrgCode {
			c.JSON(http.StatusOK, gin.H{"score": sc})
			return
		}
	}
	s.fail(c, &Error{Code: CodeNotFound, Message: "no score for this institution in " + strconv.Itoa(year)})
}
