package reports

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strings"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// Each analytical query is its own file, runnable in the DuckDB CLI once its
// $parameters are set; report_flags and report_cases are table macros of
// migration 0009.
//
//go:embed queries/*.sql
var queries embed.FS

func querySQL(name string) string {
	b, err := queries.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// scope is what a report covers: districts (comma-separated, ” for all)
// and the half-open date window [From, To) as YYYY-MM-DD.
type scope struct {
	Districts string
	From, To  string
}

// Bounds of the window of a report that covers every open flag.
const (
	allFrom = "1970-01-01"
	allTo   = "9999-12-31"
)

func (s scope) args(extra ...sql.NamedArg) []any {
	args := []any{sql.Named("districts", s.Districts), sql.Named("from", s.From), sql.Named("to", s.To)}
	for _, a := range extra {
		args = append(args, a)
	}
	return args
}

// queryRows runs a named query and calls scan for each row. Only the
// parameters the query names are bound.
func queryRows(ctx context.Context, db *sql.DB, name string, args []any, scan func(*sql.Rows) error) error {
	q := querySQL(name)
	var used []any
	for _, a := range args {
		if strings.Contains(q, "$"+a.(sql.NamedArg).Name) {
			used = append(used, a)
		}
	}
	rows, err := db.QueryContext(ctx, q, used...)
	if err != nil {
		return fmt.Errorf("query %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("query %s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query %s: %w", name, err)
	}
	return nil
}

// fen parses a DECIMAL(18,2) read as text; NULL (no rows) is zero.
func fen(s sql.NullString) (contract.Fen, error) {
	if !s.Valid || s.String == "" {
		return 0, nil
	}
	v, err := contract.ParseDecimal(s.String, 2)
	return contract.Fen(v), err
}

// familyOrder is the families in report order.
var familyOrder = []string{contract.FamilyGhostBed, contract.FamilyImpersonation, contract.FamilyDrugSubstitution,
	contract.FamilyCardMisuse, contract.FamilySettlement, contract.FamilyOther}

// familyName is a family's name from the glossary, zh-CN then English.
func familyName(key string) string {
	return glossary.Code("family", key, glossary.Zh) + " " + glossary.Code("family", key, glossary.En)
}

var orgKinds = map[string]string{"hospital": "医院", "clinic": "诊所", "pharmacy": "药店"}

func orgKind(k string) string {
	if n, ok := orgKinds[k]; ok {
		return n
	}
	return k
}
