package detectors

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ScopeReport says what a scan read: all the data, or (incremental) the
// persons the ingest runs since its base scan touched.
type ScopeReport struct {
	Mode string `json:"mode"` // full | incremental
	// Reason says why an incremental scan that was asked for ran in full
	// (zh-CN, then English); empty otherwise.
	Reason   string `json:"reason,omitempty"`
	DataRun  int64  `json:"data_run"`            // the last committed ingest run read
	BaseScan int64  `json:"base_scan,omitempty"` // incremental: the scan it builds on
	SinceRun int64  `json:"since_run,omitempty"` // incremental: the base scan's data_run
	// Changed is the number of persons with a new or corrected row since
	// the base scan; Read those whose rows the per-person detectors read
	// (the changed ones and the persons who share a card or a swipe with
	// them); Carried the per-person flags of everyone else, kept as they
	// were.
	Changed   int64 `json:"changed_persons,omitempty"`
	Read      int64 `json:"read_persons,omitempty"`
	Carried   int64 `json:"carried_flags,omitempty"`
	PerPerson int   `json:"per_person_detectors,omitempty"`
	config    string
	districts bool
}

// Scan modes.
const (
	ModeFull        = "full"
	ModeIncremental = "incremental"
)

// conventionsSQL lists the conventions the per-person detectors read, one
// row per (kind, org_code, item_code) with its value.
const conventionsSQL = `SELECT 'swipe_amount' AS kind, org_code, '' AS item_code, convention AS value FROM conv_swipe_amount
	UNION ALL SELECT 'drug_unit', org_code, item_code, qty_unit || ':' || coalesce(pieces_per_unit::VARCHAR, '') FROM conv_drug_unit`

// perPersonDetector reports whether d judges a subject from its holder's own
// rows alone (Info.PerPerson).
func perPersonDetector(d Detector) bool {
	desc, ok := d.(Describer)
	return ok && desc.Describe().PerPerson
}

// configHash fingerprints what decides the flags besides the data: the
// detectors, their thresholds and their policy files.
func configHash(ds []Detector) (string, error) {
	th, err := thresholdsJSON(ds)
	if err != nil {
		return "", err
	}
	var pols []string
	for _, d := range ds {
		p := d.Name()
		if u, ok := d.(PolicyUser); ok {
			p += "=" + u.Policies().Info().SHA256
		}
		pols = append(pols, p)
	}
	sort.Strings(pols)
	h := sha256.Sum256([]byte(th + "\x00" + strings.Join(pols, ",")))
	return hex.EncodeToString(h[:]), nil
}

// planScope decides how the scan reads the data. Without opts.Incremental,
// or when the base scan does not allow it, the scan is full. Otherwise it
// builds the scope in the scan's work schema.
func planScope(ctx context.Context, conn *sql.Conn, w *scanWork, ds []Detector, opts ScanOptions) (ScopeReport, error) {
	rep := ScopeReport{Mode: ModeFull, districts: opts.Districts != nil}
	var err error
	if err = conn.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) FROM ingest_runs WHERE status = 'committed'`).Scan(&rep.DataRun); err != nil {
		return rep, fmt.Errorf("last ingest run: %w", err)
	}
	if rep.config, err = configHash(ds); err != nil {
		return rep, err
	}
	if !opts.Incremental {
		return rep, nil
	}
	full := func(reason string) (ScopeReport, error) {
		rep.Reason = reason
		return rep, nil
	}
	var (
		base, since     int64
		config          string
		allDistricts    bool
		hasScope, found bool
	)
	rows, err := conn.QueryContext(ctx, `SELECT s.scan_id, sc.scan_id IS NOT NULL, coalesce(sc.data_run, 0), coalesce(sc.config, ''),
			coalesce(sc.all_districts, false)
		FROM scans s LEFT JOIN scan_scopes sc USING (scan_id) WHERE s.status = 'done' ORDER BY s.scan_id DESC LIMIT 1`)
	if err != nil {
		return rep, fmt.Errorf("base scan: %w", err)
	}
	for rows.Next() {
		found = true
		if err := rows.Scan(&base, &hasScope, &since, &config, &allDistricts); err != nil {
			rows.Close()
			return rep, fmt.Errorf("base scan: %w", err)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return rep, fmt.Errorf("base scan: %w", err)
	}
	switch {
	case !found:
		return full("没有已完成的扫描可作基础 no finished scan to build on")
	case !hasScope:
		return full(fmt.Sprintf("扫描 %d 未记录读取范围 scan %d did not record what it read", base, base))
	case !allDistricts:
		return full(fmt.Sprintf("扫描 %d 只更新了部分统筹区的标记 scan %d changed the flags of some districts only", base, base))
	case config != rep.config:
		return full("检测规则、阈值或政策文件已变更 the detectors, their thresholds or the policy file changed")
	case since > rep.DataRun:
		return full("基础扫描读到的导入批次已不存在 the base scan read ingest runs that are gone")
	}
	var globalChanges int64
	if err := conn.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM catalog WHERE run_id > $since) + (SELECT count(*) FROM institutions WHERE run_id > $since)
			+ (SELECT count(*) FROM catalog_history WHERE superseded_by IN (SELECT batch_id FROM ingest_runs WHERE status = 'committed' AND run_id > $since))
			+ (SELECT count(*) FROM institutions_history WHERE superseded_by IN (SELECT batch_id FROM ingest_runs WHERE status = 'committed' AND run_id > $since))`,
		sql.Named("since", since)).Scan(&globalChanges); err != nil {
		return rep, fmt.Errorf("catalogue and institution changes: %w", err)
	}
	if globalChanges > 0 {
		return full("目录或定点机构信息有新增或更正 the catalogue or the institutions changed")
	}
	w.perPerson = map[string]bool{}
	for _, d := range ds {
		if perPersonDetector(d) {
			w.perPerson[d.Name()] = true
		}
	}
	if err := w.buildScope(ctx, conn, since, base); err != nil {
		return rep, fmt.Errorf("incremental scope: %w", err)
	}
	w.incremental = true
	rep.Mode, rep.BaseScan, rep.SinceRun, rep.PerPerson = ModeIncremental, base, since, len(w.perPerson)
	if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s.changed), (SELECT count(*) FROM %[1]s.read_persons)`, w.schema)).
		Scan(&rep.Changed, &rep.Read); err != nil {
		return rep, err
	}
	return rep, nil
}

// buildScope fills the scope: the persons changed since the run since
// (or at an institution whose convention changed since the scan base),
// the settlements and cards they own, the persons read and copies of
// their activity rows.
func (w *scanWork) buildScope(ctx context.Context, conn *sql.Conn, since, base int64) error {
	x := w.schema
	// A changed row is a row loaded by a later run or an old version a
	// later run replaced; a settlement changes with its fee lines, its
	// refunds and the swipes that pay it.
	newer := func(table, cols string) string {
		return fmt.Sprintf(`SELECT %[2]s FROM %[1]s WHERE run_id > $since
			UNION SELECT %[2]s FROM %[1]s_history WHERE superseded_by IN (SELECT batch_id FROM %[3]s.new_batches)`, table, cols, x)
	}
	steps := []string{
		`CREATE TABLE ` + x + `.new_batches AS SELECT DISTINCT batch_id FROM ingest_runs WHERE status = 'committed' AND run_id > $since`,
		`CREATE TABLE ` + x + `.changed_settlements AS
			SELECT settlement_id FROM (` + newer("settlements", "settlement_id") + `)
			UNION SELECT settlement_id FROM (` + newer("fee_items", "settlement_id") + `)
			UNION SELECT init_setl_id FROM (` + newer("settlement_refunds", "init_setl_id") + `)
			UNION SELECT settlement_id FROM (` + newer("card_swipes", "settlement_id") + `) WHERE settlement_id IS NOT NULL`,
		`CREATE TABLE ` + x + `.conventions AS ` + conventionsSQL,
		`CREATE TABLE ` + x + `.conv_changed AS SELECT b.kind, b.org_code, b.item_code
			FROM scan_conventions b LEFT JOIN ` + x + `.conventions n USING (kind, org_code, item_code)
			WHERE b.scan_id = $base AND n.value IS DISTINCT FROM b.value`,
		`CREATE TABLE ` + x + `.changed AS
			SELECT person_id FROM settlements WHERE settlement_id IN (SELECT settlement_id FROM ` + x + `.changed_settlements)
			UNION SELECT person_id FROM settlements_history WHERE superseded_by IN (SELECT batch_id FROM ` + x + `.new_batches)
			UNION SELECT person_id FROM card_swipes WHERE settlement_id IN (SELECT settlement_id FROM ` + x + `.changed_settlements)
			UNION SELECT person_id FROM (` + newer("card_swipes", "person_id") + `)
			UNION SELECT person_id FROM (` + newer("registrations", "person_id") + `)
			UNION SELECT person_id FROM (` + newer("persons", "person_id") + `)
			UNION SELECT person_id FROM (` + newer("settlement_refunds", "person_id") + `)
			UNION SELECT psn_no FROM (` + newer("visits", "psn_no") + `)
			UNION SELECT person_id FROM card_swipes
				WHERE org_code IN (SELECT org_code FROM ` + x + `.conv_changed WHERE kind = 'swipe_amount')
			UNION SELECT s.person_id FROM fee_items f JOIN settlements s USING (settlement_id)
				JOIN ` + x + `.conv_changed c ON c.kind = 'drug_unit' AND c.org_code = s.org_code AND c.item_code = f.item_code`,
		// what the changed persons own: their settlements (and the changed
		// ones whatever their person now), the cards they or those
		// settlements used, the settlements of those cards (a card's
		// holder is read from all its use) and the settlements their
		// swipes paid
		`CREATE TABLE ` + x + `.own_direct AS
			SELECT settlement_id FROM settlements WHERE person_id IN (SELECT person_id FROM ` + x + `.changed)
			UNION SELECT settlement_id FROM ` + x + `.changed_settlements`,
		`CREATE TABLE ` + x + `.cards AS
			SELECT card_no FROM card_swipes WHERE person_id IN (SELECT person_id FROM ` + x + `.changed)
				OR settlement_id IN (SELECT settlement_id FROM ` + x + `.own_direct)
			UNION SELECT card_no FROM settlements WHERE settlement_id IN (SELECT settlement_id FROM ` + x + `.own_direct) AND card_no IS NOT NULL
			UNION SELECT card_no FROM (` + newer("card_swipes", "card_no") + `)`,
		`CREATE TABLE ` + x + `.owned_settlements AS
			SELECT settlement_id FROM ` + x + `.own_direct
			UNION SELECT settlement_id FROM settlements WHERE card_no IN (SELECT card_no FROM ` + x + `.cards)
			UNION SELECT settlement_id FROM card_swipes WHERE person_id IN (SELECT person_id FROM ` + x + `.changed) AND settlement_id IS NOT NULL`,
		// the persons read, whole: the changed ones, everyone who used
		// their cards, and the persons of the settlements those swipes paid
		`CREATE TABLE ` + x + `.read_persons AS
			SELECT person_id FROM ` + x + `.changed
			UNION SELECT person_id FROM card_swipes WHERE card_no IN (SELECT card_no FROM ` + x + `.cards)
			UNION SELECT person_id FROM settlements WHERE card_no IN (SELECT card_no FROM ` + x + `.cards)
			UNION SELECT person_id FROM settlements WHERE settlement_id IN (SELECT settlement_id FROM card_swipes
				WHERE person_id IN (SELECT person_id FROM ` + x + `.changed) OR card_no IN (SELECT card_no FROM ` + x + `.cards))`,
		// their rows, with the swipes (of anyone) paying their settlements
		// and the settlements any of those swipes paid
		`CREATE TABLE ` + x + `.card_swipes AS SELECT * FROM card_swipes
			WHERE person_id IN (SELECT person_id FROM ` + x + `.read_persons) OR card_no IN (SELECT card_no FROM ` + x + `.cards)
				OR settlement_id IN (SELECT settlement_id FROM settlements WHERE person_id IN (SELECT person_id FROM ` + x + `.read_persons))`,
		`CREATE TABLE ` + x + `.settlements AS SELECT * FROM settlements
			WHERE person_id IN (SELECT person_id FROM ` + x + `.read_persons)
				OR settlement_id IN (SELECT settlement_id FROM ` + x + `.card_swipes)`,
		`CREATE TABLE ` + x + `.fee_items AS SELECT * FROM fee_items WHERE settlement_id IN (SELECT settlement_id FROM ` + x + `.settlements)`,
		`CREATE TABLE ` + x + `.settlement_refunds AS SELECT * FROM settlement_refunds
			WHERE person_id IN (SELECT person_id FROM ` + x + `.read_persons) OR init_setl_id IN (SELECT settlement_id FROM ` + x + `.settlements)`,
		`CREATE TABLE ` + x + `.visits AS SELECT * FROM visits WHERE psn_no IN (SELECT person_id FROM ` + x + `.read_persons)`,
	}
	for _, q := range steps {
		var args []any
		for _, a := range []sql.NamedArg{sql.Named("since", since), sql.Named("base", base)} {
			if strings.Contains(q, "$"+a.Name) {
				args = append(args, a)
			}
		}
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%.60s…: %w", strings.Join(strings.Fields(q), " "), err)
		}
	}
	return nil
}

// owned is SQL true when the flag subject (subject_type, subject_id) is one
// the scope re-judged.
func (w *scanWork) owned() string {
	return fmt.Sprintf(`CASE subject_type
		WHEN 'settlement' THEN subject_id IN (SELECT settlement_id FROM %[1]s.owned_settlements)
		WHEN 'person' THEN subject_id IN (SELECT person_id FROM %[1]s.changed)
		WHEN 'card' THEN subject_id IN (SELECT card_no FROM %[1]s.cards)
		ELSE false END`, w.schema)
}

// merge completes new_flags as a full scan would have it: it drops the
// per-person flags of subjects the scope did not re-judge (their rows were
// read only partly) and adds those subjects' flags of the base scan, as
// they were. It returns how many it carried.
func (w *scanWork) merge(ctx context.Context, conn *sql.Conn) (int64, error) {
	if !w.incremental || len(w.perPerson) == 0 {
		return 0, nil
	}
	names := make([]string, 0, len(w.perPerson))
	for n := range w.perPerson {
		names = append(names, "'"+strings.ReplaceAll(n, "'", "''")+"'")
	}
	sort.Strings(names)
	in := `detector IN (` + strings.Join(names, ", ") + `)`
	if _, err := conn.ExecContext(ctx, `DELETE FROM new_flags WHERE `+in+` AND NOT (`+w.owned()+`)`); err != nil {
		return 0, fmt.Errorf("incremental scan (drop partial flags): %w", err)
	}
	res, err := conn.ExecContext(ctx, `INSERT INTO new_flags SELECT flag_id, detector, family, subject_type, subject_id, org_code, score,
			amount_at_risk, override_class, evidence::VARCHAR
		FROM flags WHERE status IN ('open', 'suppressed') AND `+in+` AND NOT (`+w.owned()+`)`)
	if err != nil {
		return 0, fmt.Errorf("incremental scan (carry flags): %w", err)
	}
	return res.RowsAffected()
}

// recordScope stores what the scan read and the conventions it read them
// with (replacing the previous scan's).
func recordScope(ctx context.Context, q Querier, scanID int64, r ScopeReport) error {
	null := func(v int64) any {
		if r.Mode != ModeIncremental {
			return nil
		}
		return v
	}
	reason := sql.NullString{String: r.Reason, Valid: r.Reason != ""}
	if _, err := q.ExecContext(ctx, `INSERT INTO scan_scopes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, scanID, r.Mode, reason, r.DataRun,
		null(r.BaseScan), null(r.SinceRun), !r.districts, r.config, null(r.Changed), null(r.Read), null(r.Carried)); err != nil {
		return fmt.Errorf("record the scan's scope: %w", err)
	}
	// the conventions as this scan read them, for the next incremental scan
	if _, err := q.ExecContext(ctx, `DELETE FROM scan_conventions`); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `INSERT INTO scan_conventions SELECT ?, * FROM (`+conventionsSQL+`)`, scanID)
	return err
}

// LoadScope reads what scan scanID read (scan_scopes); nil for a scan
// stored before scopes were recorded.
func LoadScope(ctx context.Context, q Querier, scanID int64) (*ScopeReport, error) {
	rows, err := q.QueryContext(ctx, `SELECT mode, coalesce(reason, ''), data_run, coalesce(base_scan, 0), coalesce(since_run, 0),
			coalesce(changed_persons, 0), coalesce(read_persons, 0), coalesce(carried_flags, 0)
		FROM scan_scopes WHERE scan_id = ?`, scanID)
	if err != nil {
		return nil, fmt.Errorf("scan scope: %w", err)
	}
	defer rows.Close()
	var r *ScopeReport
	for rows.Next() {
		r = &ScopeReport{}
		if err := rows.Scan(&r.Mode, &r.Reason, &r.DataRun, &r.BaseScan, &r.SinceRun, &r.Changed, &r.Read, &r.Carried); err != nil {
			return nil, fmt.Errorf("scan scope: %w", err)
		}
	}
	return r, rows.Err()
}
