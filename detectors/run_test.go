package detectors_test

import (
	"context"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/detectors"
)

// TestConcurrentScanEqualsSerial: every detector over the committed sample,
// one at a time and four at a time, stores the same flags (ids, scores,
// amounts and evidence), and the hub pharmacies read from the scan's card
// flags equal the hub pharmacies the detector finds alone.
func TestConcurrentScanEqualsSerial(t *testing.T) {
	ctx := context.Background()
	stored := func(workers int, only ...string) string {
		db, cfg := ingestSample(t)
		ds, err := detectors.Registry(detectors.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if only != nil {
			ds = detectors.Select(ds, only)
		}
		if _, err := detectors.ScanWith(ctx, db.DB, ds, cfg.Now, detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), Workers: workers}); err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, `SELECT flag_id, detector, status, score, amount_at_risk::VARCHAR,
			CASE WHEN detector = 'card_misuse.hub_pharmacy' THEN (evidence->'$.facts.flagged_cards')::VARCHAR ELSE evidence::VARCHAR END
			FROM flags ORDER BY flag_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		n := 0
		for rows.Next() {
			var id, det, status, amount, ev string
			var score float64
			if err := rows.Scan(&id, &det, &status, &score, &amount, &ev); err != nil {
				t.Fatal(err)
			}
			b.WriteString(strings.Join([]string{id, det, status, amount, ev}, "|"))
			b.WriteByte('\n')
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	serial, concurrent := stored(1), stored(4)
	if serial != concurrent {
		a, b := strings.Split(serial, "\n"), strings.Split(concurrent, "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("flag %d differs:\n serial     %.300s\n concurrent %.300s", i, a[i], b[i])
			}
		}
		t.Fatalf("serial %d flags, concurrent %d", len(a), len(b))
	}
	if strings.Count(serial, "\n") < 100 {
		t.Fatalf("only %d flags on the sample", strings.Count(serial, "\n"))
	}
	var hubs []string
	for _, l := range strings.Split(serial, "\n") {
		if strings.Contains(l, "|card_misuse.hub_pharmacy|") {
			hubs = append(hubs, l)
		}
	}
	if len(hubs) == 0 {
		t.Fatal("no hub pharmacy on the sample: the reader path is not exercised")
	}
	if alone := stored(1, "card_misuse.hub_pharmacy"); alone != strings.Join(hubs, "\n")+"\n" {
		t.Errorf("hub pharmacies alone:\n%s\nfrom the scan's card flags:\n%s", alone, strings.Join(hubs, "\n"))
	}
}
