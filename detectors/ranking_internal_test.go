package detectors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlantedInstitutionsTies: a card swiped as often at two institutions
// is counted at the one with the smaller code, however DuckDB's threads
// meet the rows. 200,000 cards, each swiped once at H1 and once at H2, all
// labelled card misuse: H1 carries them all and is the only planted
// institution. With arg_max on the count alone the tie went to whichever
// row the aggregate met first: here H2, swiped first, was planted instead;
// on the seed-7 fixtures the count of planted institutions changed between
// two evals of one scan.
func TestPlantedInstitutionsTies(t *testing.T) {
	ctx := context.Background()
	db := memDB(t)
	const cards = 200_000
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO card_swipes (swipe_id, card_no, person_id, org_code, swiped_at, amount, kind, batch_id, run_id, src_line, row_hash)
		SELECT 'W' || i || o, 'C' || i, 'P' || i, o, TIMESTAMP '2025-05-01 09:00:00', 10, 'purchase', 'b', 1, i, i
		FROM range(%d) r(i), (VALUES ('H2'), ('H1')) h(o)`, cards)); err != nil {
		t.Fatal(err)
	}
	var labels strings.Builder
	labels.WriteString("family,subject_type,subject_id,variant\n")
	for i := range cards {
		fmt.Fprintf(&labels, "card_misuse,card,C%d,card_misuse.lent_card\n", i)
	}
	path := filepath.Join(t.TempDir(), "labels.csv")
	if err := os.WriteFile(path, []byte(labels.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	planted, err := plantedInstitutions(ctx, db, path)
	if err != nil {
		t.Fatal(err)
	}
	if !planted["H1"] || planted["H2"] || len(planted) != 1 {
		t.Errorf("planted %v, want H1 only", planted)
	}
}
