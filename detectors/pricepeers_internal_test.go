package detectors

import (
	"context"
	"strings"
	"testing"
)

// TestPeerMedianLeaveOneOut checks the peer median of
// drug_substitution.price_vs_peers, read by position off each group's
// sorted prices, against the median of a join of every org with the other
// orgs of its group: on 2,000 groups of 1 to 9 orgs with tied prices and
// missing ones, median and peer count agree for every org.
func TestPeerMedianLeaveOneOut(t *testing.T) {
	ctx := context.Background()
	db := memDB(t)
	part := queryPart(t, "drug_substitution_price_vs_peers", "grp AS (", "flagged AS (")
	const om = `WITH om AS (
    SELECT 'O' || o AS org_code, 'R' || (g % 3) AS region, 'I' || g AS item_code, DATE '2025-01-01' AS m, 'box' AS qty_unit,
           CASE WHEN hash(g, o) % 11 = 0 THEN NULL ELSE ((hash(g, o) % 20) / 2)::DECIMAL(18,4) END AS price
    FROM range(2000) r(g), range(9) s(o) WHERE o <= g % 9
),
`
	positional := om + part + `
SELECT org_code, item_code, m, peer_median, peers FROM peers`
	joined := om + `peers AS (
    SELECT a.org_code, a.item_code, a.m, median(b.price) AS peer_median, count(*) AS peers
    FROM om a JOIN om b ON b.region = a.region AND b.item_code = a.item_code AND b.m = a.m AND b.org_code <> a.org_code
                       AND b.qty_unit = a.qty_unit
    GROUP BY ALL
)
SELECT org_code, item_code, m, peer_median, peers FROM peers`
	var rows, differ int
	err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM (`+joined+`)),
		(SELECT count(*) FROM ((`+positional+`) EXCEPT ALL (`+joined+`))) + (SELECT count(*) FROM ((`+joined+`) EXCEPT ALL (`+positional+`)))`).
		Scan(&rows, &differ)
	if err != nil {
		t.Fatal(err)
	}
	if rows < 5000 || differ != 0 {
		t.Errorf("%d orgs with peers, %d rows differ between the positional and the joined peer median", rows, differ)
	}
}

// TestPriceMedianFromCounts checks the median billed price of
// drug_substitution.price_vs_peers (per org month) and
// price_over_purchase (per org and drug), read off the counts of each
// price, against median() over the lines: on 3,000 groups of 1 to 12
// lines with tied prices, missing ones and groups with no price at all,
// the median, the line count and the insured amount agree.
func TestPriceMedianFromCounts(t *testing.T) {
	ctx := context.Background()
	db := memDB(t)
	// the lines, their settlements and institutions, the learned units and
	// the purchases, shadowing the tables
	if _, err := db.ExecContext(ctx, `
		CREATE TEMP TABLE fee_items AS
		SELECT 'S' || g || '-' || l AS settlement_id, 'I' || (g % 7) AS item_code, 'drug' || (g % 7) AS item_name, 'drug' AS category,
		       TIMESTAMP '2025-01-01' + INTERVAL (g % 5) MONTH AS charged_at,
		       CASE WHEN g % 13 = 0 OR hash(g, l) % 9 = 0 THEN NULL ELSE ((hash(g, l) % 7) * 1.25)::DECIMAL(18,4) END AS unit_price,
		       (hash(g, l) % 5)::DECIMAL(18,4) AS quantity, ((hash(l, g) % 1000) / 10)::DECIMAL(18,2) AS amount
		FROM range(3000) r(g), range(12) s(l) WHERE l <= hash(g) % 12;
		CREATE TEMP TABLE settlements AS
		SELECT settlement_id, 'O' || (hash(settlement_id) % 400) AS org_code, 'R1' AS treatment_region,
		       100::DECIMAL(18,2) AS total_amount, 60::DECIMAL(18,2) AS fund_paid, 10::DECIMAL(18,2) AS account_paid
		FROM fee_items;
		CREATE TEMP TABLE institutions AS SELECT DISTINCT org_code FROM settlements;
		CREATE TEMP TABLE conv_drug_unit AS
		SELECT DISTINCT s.org_code, f.item_code, 'box' AS qty_unit FROM fee_items f JOIN settlements s USING (settlement_id);
		CREATE TEMP TABLE stock_movements AS
		SELECT org_code, item_code, 'purchase' AS kind, 1::DECIMAL(18,4) AS unit_price, 10::DECIMAL(18,4) AS quantity FROM conv_drug_unit`); err != nil {
		t.Fatal(err)
	}
	const lines = `FROM fee_items f JOIN settlements s USING (settlement_id)
GROUP BY ALL`
	for _, c := range []struct{ rule, from, to, counted, direct, price string }{
		{"price_vs_peers", "priced AS (", "-- each org's peers", `
SELECT org_code, region, item_code, m, price, lines, insured_amt FROM om`,
			`SELECT s.org_code, s.treatment_region AS region, f.item_code, date_trunc('month', f.charged_at)::DATE AS m,
       median(f.unit_price) AS price, count(*) AS lines,
       sum((f.amount * (s.fund_paid + s.account_paid) / s.total_amount)::DECIMAL(18,4)) AS insured_amt ` + lines, "price"},
		{"price_over_purchase", "bought AS (", "hits AS (", `
SELECT org_code, item_code, billed_price, lines, q, amt, insured_amt FROM billed`,
			`SELECT s.org_code, f.item_code, median(f.unit_price) AS billed_price, count(*) AS lines, sum(f.quantity) AS q,
       sum(f.amount) AS amt, sum((f.amount * (s.fund_paid + s.account_paid) / s.total_amount)::DECIMAL(18,4)) AS insured_amt ` + lines,
			"billed_price"},
	} {
		counted := "WITH " + queryPart(t, "drug_substitution_"+c.rule, c.from, c.to) + c.counted
		var rows, differ, even int
		err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM (`+c.direct+`)),
			(SELECT count(*) FROM ((`+counted+`) EXCEPT ALL (`+c.direct+`))) + (SELECT count(*) FROM ((`+c.direct+`) EXCEPT ALL (`+counted+`))),
			(SELECT count(*) FROM (`+c.direct+`) WHERE round(`+c.price+`, 2) <> `+c.price+`)`).Scan(&rows, &differ, &even)
		if err != nil {
			t.Fatalf("%s: %v", c.rule, err)
		}
		if rows < 1000 || differ != 0 || even == 0 {
			t.Errorf("%s: %d groups (%d with a median between two prices), %d rows differ between the counted and the direct median",
				c.rule, rows, even, differ)
		}
	}
}

// queryPart is the text of the embedded query name from the CTE named by
// from up to the one named by to, without its last comma.
func queryPart(t *testing.T, name, from, to string) string {
	t.Helper()
	text, err := queries.ReadFile("queries/" + name + ".sql")
	if err != nil {
		t.Fatal(err)
	}
	q := string(text)
	i, j := strings.Index(q, from), strings.Index(q, to)
	if i < 0 || j < i {
		t.Fatalf("%s: the part %s … %s is not where the test looks for it", name, from, to)
	}
	return strings.TrimRight(strings.TrimSpace(q[i:j]), ",")
}
