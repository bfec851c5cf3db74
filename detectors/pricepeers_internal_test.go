package detectors

import (
	"context"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
)

// TestPeerMedianLeaveOneOut checks the peer median of
// drug_substitution.price_vs_peers, read by position off each group's
// sorted prices, against the median of a join of every org with the other
// orgs of its group: on 2,000 groups of 1 to 9 orgs with tied prices and
// missing ones, median and peer count agree for every org.
func TestPeerMedianLeaveOneOut(t *testing.T) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	text, err := queries.ReadFile("queries/drug_substitution_price_vs_peers.sql")
	if err != nil {
		t.Fatal(err)
	}
	q := string(text)
	from, to := strings.Index(q, "grp AS ("), strings.Index(q, "flagged AS (")
	if from < 0 || to < from {
		t.Fatal("price_vs_peers: the grp … peers part is not where the test looks for it")
	}
	const om = `WITH om AS (
    SELECT 'O' || o AS org_code, 'R' || (g % 3) AS region, 'I' || g AS item_code, DATE '2025-01-01' AS m, 'box' AS qty_unit,
           CASE WHEN hash(g, o) % 11 = 0 THEN NULL ELSE ((hash(g, o) % 20) / 2)::DECIMAL(18,4) END AS price
    FROM range(2000) r(g), range(9) s(o) WHERE o <= g % 9
),
`
	positional := om + strings.TrimRight(strings.TrimSpace(q[from:to]), ",") + `
SELECT org_code, item_code, m, peer_median, peers FROM peers`
	joined := om + `peers AS (
    SELECT a.org_code, a.item_code, a.m, median(b.price) AS peer_median, count(*) AS peers
    FROM om a JOIN om b ON b.region = a.region AND b.item_code = a.item_code AND b.m = a.m AND b.org_code <> a.org_code
                       AND b.qty_unit = a.qty_unit
    GROUP BY ALL
)
SELECT org_code, item_code, m, peer_median, peers FROM peers`
	var rows, differ int
	err = db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM (`+joined+`)),
		(SELECT count(*) FROM ((`+positional+`) EXCEPT ALL (`+joined+`))) + (SELECT count(*) FROM ((`+joined+`) EXCEPT ALL (`+positional+`)))`).
		Scan(&rows, &differ)
	if err != nil {
		t.Fatal(err)
	}
	if rows < 5000 || differ != 0 {
		t.Errorf("%d orgs with peers, %d rows differ between the positional and the joined peer median", rows, differ)
	}
}
