package nbkit

import (
	"context"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
)

func TestQuery(t *testing.T) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, "", pipeline.DefaultDBConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tab, err := Query(ctx, db.DB, `SELECT * FROM (VALUES ('H1', 950.00::DECIMAL(18,2), 3, DATE '2025-03-01'), ('<b>', NULL, 4, NULL), ('H2', -0.05, 5, NULL)) v(org, amount, n, day) ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tab.Columns, ","); got != "org,amount,n,day" {
		t.Errorf("columns %s", got)
	}
	if got := strings.Join(tab.Column("amount"), "|"); got != "950.00||-0.05" {
		t.Errorf("amount column %q: decimals keep their scale, NULL is empty", got)
	}
	if got := strings.Join(tab.Column("day"), "|"); got != "2025-03-01||" {
		t.Errorf("day column %q: a date prints as a date", got)
	}
	if got := tab.Floats("n"); len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Errorf("n as numbers %v", got)
	}
	h := tab.HTML("机构 institutions")
	for _, want := range []string{"<caption", "机构 institutions", "&lt;b&gt;", `text-align:right">950.00<`, `text-align:left">H1<`} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "<b>") {
		t.Errorf("HTML does not escape values:\n%s", h)
	}

	if _, err := Query(ctx, db.DB, `SELECT * FROM no_such_table`); err == nil {
		t.Error("a query on a missing table gives no error")
	}
	for name, f := range map[string]func(){
		"MustQuery on a bad query":  func() { MustQuery(ctx, db.DB, `SELECT * FROM no_such_table`) },
		"Column of an unknown name": func() { tab.Column("nope") },
		"Floats of a text column":   func() { tab.Floats("org") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}
