package reports

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/medaudit/medaudit/internal/glossary"
)

// recoverySamples is the recovery sample of each case about the institution
// org with findings recorded: the seed, the claims drawn, the over-payment
// found in them and the extrapolated over-payment with its 90 % interval
// (casebook.RecordSampleFindings), and the method.
func recoverySamples(ctx context.Context, db *sql.DB, org string) (*table, error) {
	t := &table{Sheet: "追回抽样", Columns: []column{
		{Head: "案件编号 Case", Width: 20}, {Head: "随机种子 Seed", Width: 22}, {Head: "样本量 Sample size", Kind: intCol},
		{Head: "外推多付金额(元) Extrapolated over-payment", Kind: moneyCol, Width: 22},
		{Head: "90%区间下限(元) 90% low", Kind: moneyCol, Width: 18}, {Head: "90%区间上限(元) 90% high", Kind: moneyCol, Width: 18},
		{Head: "方法 Method", Width: 80},
	}}
	rows, err := db.QueryContext(ctx, `SELECT s.case_id, s.seed::VARCHAR, s.size, s.estimate::VARCHAR, s.low::VARCHAR, s.high::VARCHAR
		FROM case_samples s JOIN cases c USING (case_id)
		WHERE c.subject_type = 'institution' AND c.subject_id = ? AND s.estimate IS NOT NULL ORDER BY s.case_id`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	method := glossary.SampleMethod.Zh + " " + glossary.SampleMethod.En
	for rows.Next() {
		var id, seed, est, low, high string
		var size int
		if err := rows.Scan(&id, &seed, &size, &est, &low, &high); err != nil {
			return nil, err
		}
		t.add(id, seed, strconv.Itoa(size), est, low, high, method)
	}
	return t, rows.Err()
}
