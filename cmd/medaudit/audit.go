package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/pipeline"
)

func newCheckCmd() *cobra.Command {
	var db dbFlags
	cmd := &cobra.Command{
		Use:   "check [--db FILE]",
		Short: "Check the database's invariants after a crash or a restore: batches whole, ledger balanced, no half-written scan, verdict, case or report, audit trail intact",
		Long: `Opens the database read-only and checks what every writer promises:
  - rows of a batch exist only for an ingest run that committed, and every
    committed run's ledger balances (read = loaded + quarantined + unchanged
    + corrected);
  - flags and per-detector timings exist only for scans that finished;
  - every reviewer verdict, assignment and case state has its event in the
    audit trail, and every verdict event its verdict;
  - report files exist only for report runs that finished;
  - the audit trail's hash chain verifies.
Scans and report runs still marked running are counted, not failed: a
crash leaves them so until the server starts again and redoes or closes
them. The exit code is non-zero when an invariant does not hold.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return db.with(cmd, true, func(d *pipeline.DB) error {
				in, err := checkIntegrity(cmd.Context(), d.DB)
				if err != nil {
					return err
				}
				if err := printJSON(cmd, in); err != nil {
					return err
				}
				return in.err()
			})
		},
	}
	db.register(cmd)
	return cmd
}

// integrity is the state of the database's invariants. check prints it,
// backup records it in the manifest and restore requires the restored
// database to have the same.
type integrity struct {
	Events     int64            `json:"events"`            // audit trail events
	Trail      string           `json:"trail"`             // "intact", or where the chain breaks
	Runs       int64            `json:"committed_runs"`    // committed ingest runs
	RowsRead   int64            `json:"rows_read"`         // rows the committed runs' ledgers read
	Violations map[string]int64 `json:"violations"`        // invariant -> rows breaking it; every value 0 when sound
	Running    map[string]int64 `json:"running"`           // scans and report runs a crash may have left running
	Skipped    []string         `json:"skipped,omitempty"` // invariants whose tables this database does not have
}

// err says which invariants do not hold, or returns nil.
func (in integrity) err() error {
	var errs []error
	if in.Trail != "intact" {
		errs = append(errs, errors.New(in.Trail))
	}
	names := make([]string, 0, len(in.Violations))
	for name := range in.Violations {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if n := in.Violations[name]; n != 0 {
			errs = append(errs, fmt.Errorf("%s: %d", name, n))
		}
	}
	return errors.Join(errs...)
}

// invariant is a query counting the rows that break a promise; it runs when
// the database has all of its tables.
type invariant struct {
	name   string
	tables []string
	query  string
}

var invariants = []invariant{
	{"ledger_unbalanced", []string{"batch_ledger"},
		`SELECT count(*) FROM batch_ledger WHERE read <> loaded + quarantined + unchanged + corrected + void`},
	{"committed_runs_without_ledger", []string{"ingest_runs", "batch_ledger"},
		`SELECT count(*) FROM ingest_runs r WHERE status = 'committed' AND NOT EXISTS (SELECT 1 FROM batch_ledger l WHERE l.run_id = r.run_id)`},
	{"flags_of_unfinished_scans", []string{"flags", "scans"},
		`SELECT count(*) FROM flags f WHERE EXISTS (SELECT 1 FROM (VALUES (f.scan_id), (f.first_scan_id), (f.resolved_scan_id)) v(id)
			WHERE v.id IS NOT NULL AND v.id NOT IN (SELECT scan_id FROM scans WHERE status = 'done'))`},
	{"detector_timings_of_unfinished_scans", []string{"scan_detectors", "scans"},
		`SELECT count(*) FROM scan_detectors WHERE scan_id NOT IN (SELECT scan_id FROM scans WHERE status = 'done')`},
	{"alarms_of_unfinished_scans", []string{"calibration_alarms", "scans"},
		`SELECT count(*) FROM calibration_alarms WHERE scan_id NOT IN (SELECT scan_id FROM scans WHERE status = 'done')`},
	{"rule_shares_of_unfinished_scans", []string{"scan_rule_shares", "scans"},
		`SELECT count(*) FROM scan_rule_shares WHERE scan_id NOT IN (SELECT scan_id FROM scans WHERE status = 'done')`},
	{"held_flags_without_alarm", []string{"flags", "calibration_alarms", "calibration_alarm_flags"},
		`SELECT count(*) FROM flags f WHERE f.status = 'suppressed' AND NOT EXISTS (SELECT 1 FROM calibration_alarm_flags af
			JOIN calibration_alarms a USING (alarm_id) WHERE af.flag_id = f.flag_id AND a.status IN ('open', 'fixed'))`},
	{"policy_coverage_of_unfinished_scans", []string{"scan_policies", "scans"},
		`SELECT count(*) FROM scan_policies WHERE scan_id NOT IN (SELECT scan_id FROM scans WHERE status = 'done')`},
	{"verdicts_without_event", []string{"assignments", "case_events"},
		`SELECT count(*) FROM assignments a WHERE verdict IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM case_events e WHERE e.kind = 'verdict' AND e.case_id = a.case_id AND e.actor = a.expert_id)`},
	{"verdict_events_without_verdict", []string{"assignments", "case_events"},
		`SELECT count(*) FROM case_events e WHERE kind = 'verdict' AND NOT EXISTS (
			SELECT 1 FROM assignments a WHERE a.verdict IS NOT NULL AND a.case_id = e.case_id AND a.expert_id = e.actor)`},
	{"assignments_without_event", []string{"assignments", "case_events"},
		`SELECT count(*) FROM (SELECT DISTINCT case_id, round FROM assignments) a WHERE NOT EXISTS (
			SELECT 1 FROM case_events e WHERE e.kind = 'assigned' AND e.case_id = a.case_id AND (e.payload::JSON->>'round')::INTEGER = a.round)`},
	{"cases_without_event", []string{"cases", "case_events"},
		`SELECT count(*) FROM cases WHERE case_id NOT IN (SELECT case_id FROM case_events)`},
	{"case_states_not_in_trail", []string{"cases", "case_events"},
		`SELECT count(*) FROM cases c LEFT JOIN (
			SELECT case_id, arg_max(payload::JSON->>'to', seq) AS last_to FROM case_events
			WHERE payload::JSON->>'to' IS NOT NULL GROUP BY case_id) e USING (case_id)
		WHERE coalesce(e.last_to, 'open') <> c.state`},
	{"report_files_of_unfinished_runs", []string{"report_files", "report_runs"},
		`SELECT count(*) FROM report_files WHERE run_id NOT IN (SELECT run_id FROM report_runs WHERE status = 'done')`},
}

// checkIntegrity evaluates every invariant. Batch atomicity is checked on
// every table that carries a batch: tables with batch_id and run_id hold
// rows of committed runs only, tables with batch_id alone (quarantine, data
// quality notes) rows of committed batches only.
func checkIntegrity(ctx context.Context, db *sql.DB) (integrity, error) {
	in := integrity{Violations: map[string]int64{}, Running: map[string]int64{}}
	n, err := casebook.NewStore(db, time.Now).VerifyTrail(ctx)
	var ce *casebook.ChainError
	switch {
	case errors.As(err, &ce):
		in.Events, in.Trail = n, ce.Error()
	case err != nil:
		return in, fmt.Errorf("verify the audit trail: %w", err)
	default:
		in.Events, in.Trail = n, "intact"
	}
	tables, batchTables, err := tablesOf(ctx, db)
	if err != nil {
		return in, err
	}
	count := func(name, q string) error {
		var n int64
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("check %s: %w", name, err)
		}
		in.Violations[name] = n
		return nil
	}
	for _, bt := range batchTables {
		cond := `run_id NOT IN (SELECT run_id FROM ingest_runs WHERE status = 'committed')`
		if !bt.runID {
			cond = `batch_id NOT IN (SELECT batch_id FROM ingest_runs WHERE status = 'committed')`
		}
		if err := count("rows_outside_committed_batches."+bt.name, fmt.Sprintf(`SELECT count(*) FROM %q WHERE %s`, bt.name, cond)); err != nil {
			return in, err
		}
	}
	for _, iv := range invariants {
		missing := false
		for _, t := range iv.tables {
			missing = missing || !tables[t]
		}
		if missing {
			in.Skipped = append(in.Skipped, iv.name)
			continue
		}
		if err := count(iv.name, iv.query); err != nil {
			return in, err
		}
	}
	if tables["ingest_runs"] && tables["batch_ledger"] {
		if err := db.QueryRowContext(ctx, `SELECT count(DISTINCT r.run_id), coalesce(sum(l.read), 0) FROM ingest_runs r
			LEFT JOIN batch_ledger l USING (run_id) WHERE r.status = 'committed'`).Scan(&in.Runs, &in.RowsRead); err != nil {
			return in, fmt.Errorf("count committed runs: %w", err)
		}
	}
	for name, t := range map[string]string{"scans": "scans", "report_runs": "report_runs"} {
		if !tables[t] {
			continue
		}
		var n int64
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %q WHERE status = 'running'`, t)).Scan(&n); err != nil {
			return in, fmt.Errorf("count running %s: %w", name, err)
		}
		in.Running[name] = n
	}
	return in, nil
}

// batchTable is a table whose rows belong to an ingested batch.
type batchTable struct {
	name  string
	runID bool // it has a run_id column besides batch_id
}

// tablesOf lists the main schema's tables and those that carry a batch.
func tablesOf(ctx context.Context, db *sql.DB) (map[string]bool, []batchTable, error) {
	rows, err := db.QueryContext(ctx, `SELECT t.table_name,
			count(*) FILTER (WHERE c.column_name = 'batch_id') > 0,
			count(*) FILTER (WHERE c.column_name = 'run_id') > 0
		FROM duckdb_tables() t JOIN duckdb_columns() c USING (database_oid, schema_oid, table_oid)
		WHERE t.database_name = current_database() AND t.schema_name = 'main' AND NOT t.temporary
		GROUP BY t.table_name ORDER BY t.table_name`)
	if err != nil {
		return nil, nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	tables := map[string]bool{}
	var batch []batchTable
	for rows.Next() {
		var name string
		var hasBatch, hasRun bool
		if err := rows.Scan(&name, &hasBatch, &hasRun); err != nil {
			return nil, nil, err
		}
		tables[name] = true
		if hasBatch && name != "ingest_runs" && !strings.HasPrefix(name, "report_") {
			batch = append(batch, batchTable{name: name, runID: hasRun})
		}
	}
	return tables, batch, rows.Err()
}
