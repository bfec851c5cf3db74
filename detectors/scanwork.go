package detectors

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// scanWork is a scan's work schema, scan_work.s<scan id>, in the in-memory
// database every connection of the process sees. It holds the
// intermediates several detectors read, built once per scan from all the
// data: the conventions learned from the data (conv_*), the inpatient
// stays and the drug lines' monthly sums. An incremental scan adds its scope there (incremental.go): the
// persons it re-judges and copies of their rows. A detector's connection
// reads them through temp views that shadow the tables and views of the
// same name, so the detectors' SQL is the same in every mode.
type scanWork struct {
	schema string
	// incremental: the scope is built and perPerson names the detectors
	// that read through it.
	incremental bool
	perPerson   map[string]bool
	// hashKeys: settlement_key is the hash of the settlement id on the
	// scan's connections (settlementKeys).
	hashKeys bool
}

// sharedViews are the views of the schema computed once per scan, in an
// order where each reads only those before it (conv_drug_unit reads
// drug_lines_monthly, conv_stock reads conv_drug_unit).
var sharedViews = []string{"drug_lines_monthly", "conv_swipe_amount", "conv_drug_unit", "conv_stock", "inpatient_stays"}

// sharedColumns are the columns a shared intermediate keeps when its
// readers need only some of them (else all). The schema is an in-memory
// database whose tables are not compressed and stay in DuckDB's memory
// through the scan: inpatient_stays with all 47 columns of a settlement
// held 642 MB of the scan's 1 GB at 2.5 M persons (1.13 M stays), and the
// largest joins of the scan went to disk beside it. Its three readers
// (ghost_bed.no_early_treatment, outside_activity, frequent_short_stays)
// read these.
var sharedColumns = map[string]string{
	"inpatient_stays": `settlement_id, person_id, org_code, visit_type, dept_code, admitted_at, discharged_at,
		diagnosis_code, total_amount, fund_paid, account_paid, emergency, med_type, days_rinp_flag_31`,
}

// scopedTables are the activity tables a per-person detector of an
// incremental scan reads from the scope; the views over them that are not
// learned from everyone's data (inpatient_stays) follow them there.
var scopedTables = []string{"settlements", "fee_items", "card_swipes", "settlement_refunds", "visits"}

// What a connection reads.
const (
	readTables = iota // the tables and views themselves
	readShared        // the shared intermediates of the scan
	readScope         // the scope's rows (a per-person detector of an incremental scan)
)

// newScanWork creates the schema and the shared intermediates. Each is
// built once: while they are built, a temp view shadows each one built so
// far, so that a later one reads it instead of computing it again
// (conv_stock reads conv_drug_unit's billed prices); conn reads the tables
// themselves again when it returns.
func newScanWork(ctx context.Context, conn *sql.Conn, scanID int64) (*scanWork, error) {
	w := &scanWork{schema: fmt.Sprintf("scan_work.s%d", scanID)}
	if _, err := conn.ExecContext(ctx, `CREATE SCHEMA `+w.schema); err != nil {
		return nil, err
	}
	var built []string
	defer func() {
		for _, v := range built {
			conn.ExecContext(context.WithoutCancel(ctx), `DROP VIEW IF EXISTS temp.main.`+v)
		}
		conn.ExecContext(context.WithoutCancel(ctx), dropKeyMacro)
	}()
	var err error
	if w.hashKeys, err = settlementKeys(ctx, conn); err != nil {
		w.drop(ctx, conn)
		return nil, err
	}
	for _, v := range sharedViews {
		cols := sharedColumns[v]
		if cols == "" {
			cols = "*"
		}
		_, err := conn.ExecContext(ctx, `CREATE TABLE `+w.schema+`.`+v+` AS SELECT `+cols+` FROM `+v)
		if err == nil {
			built = append(built, v)
			_, err = conn.ExecContext(ctx, `CREATE OR REPLACE TEMP VIEW `+v+` AS SELECT * FROM `+w.schema+`.`+v)
		}
		if err != nil {
			w.drop(ctx, conn)
			return nil, fmt.Errorf("shared intermediate %s: %w", v, err)
		}
	}
	return w, nil
}

// use switches what conn reads to want (readTables, readShared,
// readScope); *state holds what it reads now.
func (w *scanWork) use(ctx context.Context, conn *sql.Conn, want int, state *int) error {
	if want == *state {
		return nil
	}
	var stmts []string
	view := func(name, cols string) string {
		return fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW %s AS SELECT %s FROM %s.%s`, name, cols, w.schema, name)
	}
	drop := func(name string) string { return `DROP VIEW IF EXISTS temp.main.` + name }
	for _, t := range scopedTables {
		switch {
		case want != readScope:
			stmts = append(stmts, drop(t))
		case t == "settlements":
			// the recompute keys claims by the settlement's rowid,
			// which a view does not have
			stmts = append(stmts, view(t, "*, rowid AS rowid"))
		default:
			stmts = append(stmts, view(t, "*"))
		}
	}
	for _, v := range sharedViews {
		switch {
		case want == readTables, want == readScope && !strings.HasPrefix(v, "conv_"):
			stmts = append(stmts, drop(v))
		default:
			stmts = append(stmts, view(v, "*"))
		}
	}
	switch {
	case want == readTables:
		stmts = append(stmts, dropKeyMacro)
	case w.hashKeys:
		stmts = append(stmts, hashKeyMacro)
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("scan work view: %w", err)
		}
	}
	*state = want
	return nil
}

// hashSettlementKeys lets settlementKeys key settlements by the hash of
// their id; a variable so that a test can compare with the ids as keys.
var hashSettlementKeys = true

// The temp macro that shadows settlement_key (migration 0023, the id) on a
// connection, and its removal.
const (
	hashKeyMacro = `CREATE OR REPLACE TEMP MACRO settlement_key(id) AS hash(id)`
	dropKeyMacro = `DROP MACRO IF EXISTS temp.main.settlement_key`
)

// settlementKeys makes settlement_key the hash of the settlement id on
// conn when no two loaded settlement ids share a hash (a 64-bit hash: at
// 10 M ids two share one with a chance of about 3 in a million), and
// reports whether it did. Equal hashes then mean the same settlement, and
// the large joins of fee lines to settlements hold 8-byte keys instead of
// the ids: at 10.0 M settlements the recompute's line sums took 22.4 s
// against 32.4 s, the monthly drug sums, sudden_volume and item_share
// together about 5 s less. The count costs about 1 s at 10 M settlements.
func settlementKeys(ctx context.Context, conn *sql.Conn) (bool, error) {
	if !hashSettlementKeys {
		return false, nil
	}
	var shared int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) - count(DISTINCT hash(settlement_id)) FROM settlements`).Scan(&shared); err != nil {
		return false, fmt.Errorf("settlement keys: %w", err)
	}
	if shared > 0 {
		return false, nil
	}
	if _, err := conn.ExecContext(ctx, hashKeyMacro); err != nil {
		return false, fmt.Errorf("settlement keys: %w", err)
	}
	return true, nil
}

// reads is what a detector's connection reads.
func (w *scanWork) reads(d Detector) int {
	if w.incremental && w.perPerson[d.Name()] {
		return readScope
	}
	return readShared
}

// drop removes the schema.
func (w *scanWork) drop(ctx context.Context, conn *sql.Conn) {
	conn.ExecContext(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+w.schema+` CASCADE`)
}
