package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline"
)

// TestMigrationsMatchContract checks the SQL schema against contract.Tables:
// every contract column exists with the right DuckDB type and nullability.
func TestMigrationsMatchContract(t *testing.T) {
	db := openDB(t)
	want := map[contract.ColType]string{
		contract.String: "VARCHAR", contract.Enum: "VARCHAR", contract.Date: "DATE", contract.Timestamp: "TIMESTAMP",
		contract.Amount: "DECIMAL(18,2)", contract.Quantity: "DECIMAL(18,4)", contract.Ratio: "DECIMAL(5,4)",
		contract.Int: "INTEGER", contract.Bool: "BOOLEAN",
	}
	for _, tb := range contract.Tables {
		for _, suffix := range []string{"", "_history"} {
			rows, err := db.QueryContext(context.Background(), `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position`, tb.Name+suffix)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][2]string{}
			var order []string
			for rows.Next() {
				var n, typ, null string
				if err := rows.Scan(&n, &typ, &null); err != nil {
					t.Fatal(err)
				}
				got[n] = [2]string{typ, null}
				order = append(order, n)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			for i, c := range tb.Columns {
				g, ok := got[c.Name]
				if !ok {
					t.Errorf("%s%s lacks %s", tb.Name, suffix, c.Name)
					continue
				}
				if g[0] != want[c.Type] {
					t.Errorf("%s%s.%s is %s, want %s", tb.Name, suffix, c.Name, g[0], want[c.Type])
				}
				if suffix == "" && (g[1] == "NO") != c.Required {
					t.Errorf("%s.%s nullable=%s, required=%v", tb.Name, c.Name, g[1], c.Required)
				}
				if order[i] != c.Name {
					t.Errorf("%s%s column %d is %s, want %s", tb.Name, suffix, i, order[i], c.Name)
				}
			}
			if suffix == "_history" && !strings.Contains(strings.Join(order, ","), "superseded_at,superseded_by") {
				t.Errorf("%s_history lacks superseded_at/by", tb.Name)
			}
		}
	}
	ms, err := pipeline.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != ms[len(ms)-1].Version {
		t.Errorf("schema version %d, want %d", version, ms[len(ms)-1].Version)
	}
}
