package detectors

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// recomputed is one claim (a settlement, or a stay settled in parts) as
// settled and as the settlement engine recomputes it under the insured
// region's policy, with the running totals of the person's year that went
// into the claim.
type recomputed struct {
	ID, Person, Org, OrgName string
	OrgLevel                 int
	VisitType                string
	Admitted, Settled        time.Time
	Insurance                string
	RegKind, RegUsed, RegID  string // kind and id of the covering registration; the id the settlement names
	Emergency                bool
	Total, Fund, Account     contract.Fen // as settled; Fund is 统筹 (hifp_pay) when the settlement gives its fund parts
	// OtherFunds is what the other funds paid (大病保险, 大额补助, 公务员补助,
	// 医疗救助 …: fund_paid − hifp_pay) when the fund parts are given; they
	// are reported, not recomputed.
	OtherFunds contract.Fen
	FundParts  bool // hifp_pay was given
	Cash       contract.Fen
	Claim      settlement.Claim  // with its lines only once loadLines read them
	Res        settlement.Result // recomputed (SettleSums: SettleQuick on the lines)
	Tol        contract.Fen      // 0.01 × rounding steps
	Steps      int               // rounding steps the tolerance allows for
	LineClass  []settlement.Line // the lines with the class written on them, when a line's differs from the catalogue's (loadLines)
	Mismatched []lineRef         // lines whose written class differs from the catalogue's
	ClassC     []lineRef         // class C lines (catalogue)
	sums       claimSums         // what the claims query gave about the lines
}

// lineRef names a fee line in evidence.
type lineRef struct {
	ItemID, Code, Name string
	Written, Catalogue string // class on the line and in the catalogue
	Amount             contract.Fen
}

// recomputeStream runs the recompute over every claim (a settlement, or an
// inpatient stay settled in parts) in person and settlement-time order and
// calls visit for each (the struct is reused: visit must copy what it
// keeps; its claim has no lines). One grouped pass over the fee lines gives
// each claim's line sums (settlement_recompute_claims.sql); the claims
// stream in as Arrow record batches, and the running totals of each
// person's calendar year are carried in memory: fund used and annual
// deductible met per visit type (each visit type has its own cap and
// deductible in the policies), the n-th admission, and the account balance
// from persons.account_balance (balance at the start of the year) less the
// account payments as settled. Refunds give back the settled fund, account
// and deductible at the refund's time. The engine settles each claim from
// its line sums (settlement.SettleSums, which equals Settle on the lines).
// Claims whose insured region has no policy in force at the settlement
// date are skipped: they are unknown, not wrong (Coverage counts them).
func recomputeStream(ctx context.Context, q Querier, ps *settlement.PolicySet, visit func(*recomputed) error) error {
	run, err := openRecompute(ctx, q, ps)
	if err != nil {
		return err
	}
	return errors.Join(run.stream(ctx, visit), run.close())
}

// recomputeRun is one recompute over the loaded data on a pinned
// connection (temp objects belong to one): the temp macros of
// settlement_recompute_lines.sql and the claims of
// settlement_recompute_claims.sql, dropped by close.
type recomputeRun struct {
	conn    *sql.Conn
	release func() error
	ps      *settlement.PolicySet
	claims  int  // the number of claims
	ownKeys bool // the run defined settlement_key on conn (settlementKeys)
}

// openRecompute builds the claims of the recompute under ps.
func openRecompute(ctx context.Context, q Querier, ps *settlement.PolicySet) (*recomputeRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	run := recomputeRun{ps: ps}
	switch c := q.(type) {
	case *sql.Conn:
		run.conn, run.release = c, func() error { return nil }
	case interface {
		Conn(context.Context) (*sql.Conn, error)
	}:
		conn, err := c.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("recompute: %w", err)
		}
		run.conn, run.release = conn, conn.Close
	default:
		return nil, fmt.Errorf("recompute: needs a *sql.DB or *sql.Conn, got %T", q)
	}
	for _, name := range []string{"settlement_recompute_lines.sql", "rounding", "keys", "settlement_recompute_claims.sql", "claims"} {
		var err error
		switch name {
		case "rounding":
			err = run.writeRounding(ctx)
		case "keys":
			// A scan's connections have the scan's settlement keys
			// (scanWork); elsewhere the recompute chooses its own.
			if scanStateOf(ctx) == nil {
				run.ownKeys, err = settlementKeys(ctx, run.conn)
			}
		case "claims":
			err = run.countClaims(ctx)
		default:
			var text []byte
			if text, err = queries.ReadFile("queries/" + name); err == nil {
				_, err = run.conn.ExecContext(ctx, string(text))
			}
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("recompute %s: %w", name, err), run.close())
		}
	}
	return &run, nil
}

// writeRounding fills recompute_rounding with the rounding of every policy
// version, for the claims query to round each claim's lines as its policy
// does.
func (run *recomputeRun) writeRounding(ctx context.Context) error {
	vs := run.ps.PolicyVersions()
	if len(vs) == 0 {
		return nil
	}
	day := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.Format(time.DateOnly)
	}
	rows := make([]string, len(vs))
	args := make([]any, 0, 4*len(vs))
	for i, v := range vs {
		rows[i] = "(?, ?::DATE, ?::DATE, ?)"
		args = append(args, string(v.Region), day(v.From, "0001-01-01"), day(v.To, "9999-12-31"), int(v.Rounding))
	}
	_, err := run.conn.ExecContext(ctx, "INSERT INTO recompute_rounding VALUES "+strings.Join(rows, ", "), args...)
	return err
}

// countClaims counts the claims, for the number of stream buckets.
func (run *recomputeRun) countClaims(ctx context.Context) error {
	// (every part has its person and institution: recompute_parts joins them)
	if err := run.conn.QueryRowContext(ctx, `SELECT count(*) FROM recompute_parts WHERE part_no = 1`).Scan(&run.claims); err != nil {
		return fmt.Errorf("count claims: %w", err)
	}
	return nil
}

// buckets is the number of stream buckets of the claims.
func (run *recomputeRun) buckets() int {
	return min(recomputeShards, max(1, (run.claims+recomputeClaimsPerBucket-1)/recomputeClaimsPerBucket))
}

// close drops the recompute's temp objects and unpins the connection.
func (run *recomputeRun) close() error {
	_, err := run.conn.ExecContext(context.Background(), `DROP MACRO TABLE IF EXISTS recompute_claims; DROP TABLE IF EXISTS recompute_claim_sums; DROP TABLE IF EXISTS recompute_parts; DROP TABLE IF EXISTS recompute_rounding;
		DROP TABLE IF EXISTS recompute_cov; DROP TABLE IF EXISTS recompute_refunds; DROP TABLE IF EXISTS recompute_some_lines;
		DROP MACRO TABLE IF EXISTS recompute_lines;
		DROP MACRO IF EXISTS recompute_over; DROP MACRO IF EXISTS recompute_share; DROP MACRO IF EXISTS recompute_round`)
	if run.ownKeys {
		_, kerr := run.conn.ExecContext(context.Background(), dropKeyMacro)
		err = errors.Join(err, kerr)
	}
	return errors.Join(err, run.release())
}

// recomputeClaimsPerBucket bounds the claims one stream query returns (the
// driver materialises a result; a variable so that a test can force many
// buckets).
var recomputeClaimsPerBucket = 250_000

// recomputeShards is the number of person shards the claims are stored by
// (settlement_recompute_claims.sql); a bucket is a range of them.
const recomputeShards = 4096

// stream reads the claims bucket by bucket (each person, with all their
// claims, is in one bucket) and recomputes them.
func (run *recomputeRun) stream(ctx context.Context, visit func(*recomputed) error) error {
	buckets := run.buckets()
	text, err := queries.ReadFile("queries/settlement_recompute_stream.sql")
	if err != nil {
		return err
	}
	st := recomputeState{ps: run.ps, visit: visit}
	return run.conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return fmt.Errorf("recompute: %w", err)
		}
		for b := range buckets {
			rdr, err := ar.QueryContext(ctx, string(text), b*recomputeShards/buckets, (b+1)*recomputeShards/buckets)
			if err != nil {
				return fmt.Errorf("recompute stream: %w", err)
			}
			for err == nil && rdr.Next() {
				err = st.batch(ctx, rdr.RecordBatch())
			}
			if err == nil {
				err = rdr.Err()
			}
			rdr.Release()
			if err != nil {
				return fmt.Errorf("recompute stream: %w", err)
			}
		}
		return nil
	})
}

// claimSums are what the claims query gives about a claim's lines.
type claimSums struct {
	cat, written settlement.LineSums // with the catalogue's classes, with the classes written on the lines
	mode         settlement.Rounding // the rounding of the lines: the policy's in force
	bad, badW    bool                // a line the engine rejects (catalogue, written classes)
	mismatched   int                 // lines whose written class differs from the catalogue's
	lineSteps    int                 // rounding steps of the lines: class B shares and over-ceiling parts
}

// recomputeState carries the running totals across the claims of a stream.
type recomputeState struct {
	ps      *settlement.PolicySet
	visit   func(*recomputed) error
	st      personYear
	balance contract.Fen
	person  string
	started bool
	n       int
	cur     recomputed
	// names holds one copy of each value of the columns with few values
	// (institution, visit type, regions, insurance, registration kind), up
	// to maxNames of them: a claim takes it instead of a copy of its own.
	names map[string]string
}

// maxNames bounds recomputeState.names (institutions and regions number in
// the thousands; past the bound each claim has its own copies).
const maxNames = 1 << 16

// name is the held copy of v.
func (s *recomputeState) name(v string) string {
	if h, ok := s.names[v]; ok {
		return h
	}
	h := strings.Clone(v)
	if s.names == nil {
		s.names = map[string]string{}
	}
	if len(s.names) < maxNames {
		s.names[h] = h
	}
	return h
}

// batch recomputes the claims of one record batch in order.
func (s *recomputeState) batch(ctx context.Context, rec arrow.RecordBatch) error {
	c, err := claimColumns(rec)
	if err != nil {
		return err
	}
	fen := func(a *array.Int64, i int) contract.Fen { return contract.Fen(a.Value(i)) }
	str := func(a stringArray, i int) string { return strings.Clone(a.Value(i)) }
	name := func(a stringArray, i int) string { return s.name(a.Value(i)) }
	at := func(a *array.Int64, i int) time.Time { return time.UnixMicro(a.Value(i)).UTC() }
	for i := range int(rec.NumRows()) {
		if s.n++; s.n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		insurance, visitType, regKind := name(c.insurance, i), name(c.visitType, i), name(c.regKind, i)
		level, emergency := int(c.level.Value(i)), c.emergency.Value(i)
		person := c.person.Value(i)
		if s.started && person == s.person {
			person = s.person // (claim sets s.person from cur.Person)
		} else {
			person = strings.Clone(person)
		}
		s.cur = recomputed{
			ID: str(c.id, i), Person: person, Org: name(c.org, i), OrgName: name(c.orgName, i), OrgLevel: level,
			VisitType: visitType, Admitted: at(c.admitted, i), Settled: at(c.settled, i), Insurance: insurance,
			RegKind: regKind, RegUsed: str(c.regUsed, i), RegID: str(c.regID, i), Emergency: emergency,
			Total: fen(c.total, i), Fund: fen(c.fund, i), OtherFunds: fen(c.otherFunds, i), FundParts: c.fundParts.Value(i),
			Account: fen(c.account, i), Cash: fen(c.cash, i),
			Claim: settlement.Claim{
				InsuredRegion: contract.RegionCode(name(c.insured, i)), TreatmentRegion: contract.RegionCode(name(c.treatment, i)),
				Date: at(c.date, i), InsuranceType: insurance, Retiree: c.retiree.Value(i), VisitType: visitType,
				HospitalLevel: level, Registration: regKind, Emergency: emergency,
			},
		}
		s.cur.sums = claimSums{bad: c.bad.Value(i), badW: c.badW.Value(i), mismatched: int(c.mismatched.Value(i)),
			lineSteps: int(c.lineSteps.Value(i))}
		sums := func(own, pre contract.Fen) settlement.LineSums {
			total, over := fen(c.linesTotal, i), fen(c.over, i)
			return settlement.LineSums{Total: total, OverCeiling: over, FullOwnPay: own, PreSelfPay: pre,
				InScope: total - over - own - pre}
		}
		s.cur.sums.cat, s.cur.sums.written = sums(fen(c.own, i), fen(c.pre, i)), sums(fen(c.ownW, i), fen(c.preW, i))
		// No policy in force is -1, which wraps to a mode no policy has:
		// the engine finds no policy either, or SettleSums rejects the sums.
		s.cur.sums.mode = settlement.Rounding(c.mode.Value(i))
		lo, hi := c.refunds.ValueOffsets(i)
		if err := s.claim(fen(c.balance0, i), c.refundTimes.Int64Values()[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// claim recomputes the current claim and adds it to the running totals.
func (s *recomputeState) claim(balance0 contract.Fen, refundsUs []int64) error {
	cur := &s.cur
	if !s.started || cur.Person != s.person || cur.Claim.Date.Year() != s.st.year {
		if !s.started || cur.Person != s.person {
			s.balance = balance0
		}
		s.st.reset(cur.Claim.Date.Year())
	}
	s.started, s.person = true, cur.Person
	s.st.applyRefunds(cur.Settled, &s.balance)
	ok, err := s.st.settle(s.ps, cur, s.balance)
	if err != nil {
		return err
	}
	if ok {
		if err := s.visit(cur); err != nil {
			return err
		}
	}
	vt := visitIdx(cur.VisitType)
	s.st.fund[vt] += cur.Fund
	ded, err := countedDeductible(s.ps, cur)
	if err != nil {
		return err
	}
	if cur.VisitType != visitInpatient {
		s.st.ded[vt] += ded
	} else {
		s.st.nAdm++
	}
	if cur.Insurance == insuranceEmployee {
		s.balance -= cur.Account
	}
	for _, us := range refundsUs {
		s.st.pending = append(s.st.pending, refund{at: time.UnixMicro(us).UTC(), vt: vt, fund: cur.Fund, account: cur.Account,
			ded: ded * contract.Fen(boolInt(cur.VisitType != visitInpatient)), employee: cur.Insurance == insuranceEmployee})
	}
	return nil
}

// stringArray is an Arrow string column (DuckDB exports VARCHAR as one of
// the string layouts).
type stringArray interface {
	arrow.Array
	Value(int) string
}

// claimCols are the columns of settlement_recompute_stream.sql.
type claimCols struct {
	id, person, org, orgName, visitType, insured, treatment, insurance, regKind, regUsed, regID stringArray
	level, admitted, date, settled, balance0, total, fund, otherFunds, account, cash            *array.Int64
	linesTotal, lineSteps, mismatched, refundTimes, mode, over, own, pre, ownW, preW            *array.Int64
	retiree, emergency, fundParts, bad, badW                                                    *array.Boolean
	refunds                                                                                     *array.List
}

// claimColumns finds the columns of a claims record batch by name.
func claimColumns(rec arrow.RecordBatch) (claimCols, error) {
	var c claimCols
	var errs []error
	col := func(name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			errs = append(errs, fmt.Errorf("no column %s", name))
			return nil
		}
		return rec.Column(idx[0])
	}
	set := func(dst any, name string) {
		a := col(name)
		if a == nil {
			return
		}
		ok := false
		switch d := dst.(type) {
		case *stringArray:
			*d, ok = a.(stringArray)
		case **array.Int64:
			*d, ok = a.(*array.Int64)
		case **array.Boolean:
			*d, ok = a.(*array.Boolean)
		case **array.List:
			*d, ok = a.(*array.List)
		}
		if !ok {
			errs = append(errs, fmt.Errorf("column %s has type %s", name, a.DataType()))
		}
	}
	for _, f := range []struct {
		dst  any
		name string
	}{
		{&c.id, "claim_id"}, {&c.person, "person_id"}, {&c.org, "org_code"}, {&c.orgName, "org_name"}, {&c.visitType, "visit_type"},
		{&c.insured, "insured_region"}, {&c.treatment, "treatment_region"}, {&c.insurance, "insurance_type"},
		{&c.regKind, "reg_kind"}, {&c.regUsed, "reg_used"}, {&c.regID, "registration_id"},
		{&c.level, "org_level"}, {&c.admitted, "admitted_us"}, {&c.date, "claim_date_us"}, {&c.settled, "settled_us"},
		{&c.balance0, "balance0"}, {&c.total, "total"}, {&c.fund, "fund"}, {&c.otherFunds, "other_funds"},
		{&c.account, "account"}, {&c.cash, "cash"}, {&c.linesTotal, "lines_total"}, {&c.lineSteps, "line_steps"},
		{&c.mismatched, "mismatched"}, {&c.retiree, "retiree"}, {&c.emergency, "emergency"}, {&c.fundParts, "fund_parts"},
		{&c.bad, "bad"}, {&c.badW, "bad_w"}, {&c.refunds, "refunds_us"}, {&c.mode, "mode"}, {&c.over, "over"},
		{&c.own, "own"}, {&c.pre, "pre"}, {&c.ownW, "own_w"}, {&c.preW, "pre_w"},
	} {
		set(f.dst, f.name)
	}
	if c.refunds != nil {
		var ok bool
		if c.refundTimes, ok = c.refunds.ListValues().(*array.Int64); !ok {
			errs = append(errs, fmt.Errorf("column refunds_us has type %s", c.refunds.DataType()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("claims batch: %w", err)
	}
	return c, nil
}

// loadLines reads the fee lines of some claims of the run (the ones that
// disagree, for the step-by-step recompute of their evidence).
func (run *recomputeRun) loadLines(ctx context.Context, claims []*recomputed) error {
	if len(claims) == 0 {
		return nil
	}
	byID := make(map[string]*recomputed, len(claims))
	ids := make([]string, len(claims))
	for i, r := range claims {
		byID[r.ID], ids[i] = r, r.ID
	}
	text, err := queries.ReadFile("queries/settlement_recompute_claim_lines.sql")
	if err != nil {
		return err
	}
	// The claims' fee lines, then those lines with their catalogue rows.
	pick, read, ok := strings.Cut(string(text), ";\n\n")
	if !ok {
		return errors.New("recompute lines: settlement_recompute_claim_lines.sql is not two statements")
	}
	if _, err := run.conn.ExecContext(ctx, pick, strings.Join(ids, "\x1f")); err != nil {
		return fmt.Errorf("recompute lines: %w", err)
	}
	rows, err := run.conn.QueryContext(ctx, read)
	if err != nil {
		return fmt.Errorf("recompute lines: %w", err)
	}
	defer rows.Close()
	var (
		id, itemID, itemCode, itemName, lineClass, class string
		selfpay, ceiling, qty, price, amount             int64
	)
	for rows.Next() {
		if err := rows.Scan(&id, &itemID, &itemCode, &itemName, &lineClass, &class, &selfpay, &ceiling, &qty, &price, &amount); err != nil {
			return fmt.Errorf("recompute lines: %w", err)
		}
		cur := byID[id]
		ln := settlement.Line{Class: class, Quantity: contract.Qty(qty), UnitPrice: contract.Qty(price),
			Amount: contract.Fen(amount), PriceCeiling: contract.Qty(ceiling)}
		if class == "B" {
			ln.SelfPayRatio = int(selfpay)
		}
		cur.Claim.Lines = append(cur.Claim.Lines, ln)
		// (only the claims with a mismatched line are recomputed with the
		// written classes: a second copy of every claim's lines was half
		// the Go heap of the scan at 2.5 M persons)
		if cur.sums.mismatched > 0 {
			written := ln
			written.Class = lineClass
			if lineClass == "B" && written.SelfPayRatio == 0 {
				written.SelfPayRatio = defaultSelfPay
			}
			cur.LineClass = append(cur.LineClass, written)
		}
		ref := lineRef{ItemID: itemID, Code: itemCode, Name: itemName, Written: lineClass, Catalogue: class, Amount: contract.Fen(amount)}
		if lineClass != class {
			cur.Mismatched = append(cur.Mismatched, ref)
		}
		if class == "C" {
			cur.ClassC = append(cur.ClassC, ref)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recompute lines: %w", err)
	}
	return nil
}

// countedDeductible is the annual deductible the platform counted as met
// by a claim. A platform that settled a line with the class written on it
// (a class C line written as A or B) counted the deductible of that
// computation, whatever else was wrong with the settlement; using it keeps
// one wrong settlement from making the person's later, correct ones look
// wrong too.
func countedDeductible(ps *settlement.PolicySet, r *recomputed) (contract.Fen, error) {
	if r.sums.mismatched == 0 || r.sums.badW {
		return r.Res.Deductible, nil
	}
	res, ok, err := settleSums(ps, r.Claim, r.sums.mode, r.sums.written)
	if !ok {
		return r.Res.Deductible, err
	}
	return res.Deductible, nil
}

// settleSums settles a claim from its line sums; false when the claim is
// not settleable (no policy in force, an invalid claim). Sums rounded with
// another mode than the policy's are an error: the claims query and the
// engine disagree on which policy is in force.
func settleSums(ps *settlement.PolicySet, c settlement.Claim, mode settlement.Rounding, sums settlement.LineSums) (settlement.Result, bool, error) {
	res, err := ps.SettleSums(c, mode, sums)
	if errors.Is(err, settlement.ErrRoundingMode) {
		return res, false, fmt.Errorf("recompute: %w", err)
	}
	return res, err == nil, nil
}

// defaultSelfPay is the class B 先行自付 share assumed for a line written as
// class B whose catalogue row gives none (DOMAIN §5.5: commonly 5–20 %).
const defaultSelfPay = 1000

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// visitIdx indexes per-visit-type running totals.
func visitIdx(visitType string) int {
	switch visitType {
	case visitInpatient:
		return 0
	case visitOutpatient:
		return 1
	}
	return 2
}

// refund is a pending refund of a person's settlement.
type refund struct {
	at                 time.Time
	vt                 int
	fund, account, ded contract.Fen
	employee           bool
}

// personYear is the running state of one person in one calendar year.
type personYear struct {
	year    int
	fund    [3]contract.Fen // fund paid this year, per visit type
	ded     [3]contract.Fen // annual deductible met, per visit type
	nAdm    int             // admissions settled this year
	pending []refund
}

func (s *personYear) reset(year int) {
	*s = personYear{year: year, pending: s.pending[:0]}
}

// applyRefunds gives back the refunds dated up to t.
func (s *personYear) applyRefunds(t time.Time, balance *contract.Fen) {
	keep := s.pending[:0]
	for _, r := range s.pending {
		if r.at.After(t) {
			keep = append(keep, r)
			continue
		}
		s.fund[r.vt] -= r.fund
		s.ded[r.vt] -= r.ded
		if r.employee {
			*balance += r.account
		}
	}
	s.pending = keep
}

// settle fills the running totals into the claim and recomputes it from
// its line sums; false when the insured region has no policy or the claim
// is not settleable.
func (s *personYear) settle(ps *settlement.PolicySet, r *recomputed, balance contract.Fen) (bool, error) {
	vt := visitIdx(r.VisitType)
	c := &r.Claim
	c.FundUsedYTD = max(s.fund[vt], 0)
	c.DeductibleUsedYTD = max(s.ded[vt], 0)
	if r.VisitType == visitInpatient {
		c.NthAdmission = s.nAdm + 1
	}
	if r.Insurance == insuranceEmployee {
		c.AccountBalance = max(balance, 0)
	}
	if r.sums.bad {
		return false, nil
	}
	res, ok, err := settleSums(ps, *c, r.sums.mode, r.sums.cat)
	if !ok {
		return false, err
	}
	r.Res = res
	r.Steps = 3 + r.sums.lineSteps // deductible, bands, account, and the lines' own
	r.Tol = contract.Fen(r.Steps)
	return true, nil
}

// with returns the recomputation of r's claim under a change.
func (r *recomputed) with(ps *settlement.PolicySet, change func(*settlement.Claim)) (settlement.Result, bool) {
	c := r.Claim
	change(&c)
	res, err := ps.SettleQuick(c)
	return res, err == nil
}

// recomputeDiffs returns the claims (with their lines) whose settled fund
// or account differs from the recomputation, in settlement-id order; those
// that agree cannot fail any recompute check. In a scan the five recompute
// detectors share one recomputation (scanState); elsewhere each call
// recomputes.
func recomputeDiffs(ctx context.Context, q Querier, ps *settlement.PolicySet) ([]*recomputed, error) {
	if s := scanStateOf(ctx); s != nil {
		return s.recomputeDiffs(ctx, q, ps)
	}
	return computeDiffs(ctx, q, ps)
}

// computeDiffs recomputes every claim from its line sums, then reads the
// lines of the claims that disagree.
func computeDiffs(ctx context.Context, q Querier, ps *settlement.PolicySet) (diffs []*recomputed, err error) {
	run, err := openRecompute(ctx, q, ps)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, run.close()) }()
	err = run.stream(ctx, func(r *recomputed) error {
		if r.Fund != r.Res.Fund || r.Account != r.Res.Account {
			c := *r
			diffs = append(diffs, &c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := run.loadLines(ctx, diffs); err != nil {
		return nil, err
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].ID < diffs[j].ID })
	return diffs, ctx.Err()
}

// dataFingerprint identifies the content of the tables the recompute reads
// (the xor of the ingest's row hashes and the row counts).
func dataFingerprint(ctx context.Context, q Querier) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT concat_ws('/',
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM settlements),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM fee_items),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM persons),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM registrations),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM institutions),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM catalog),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM card_swipes WHERE kind = 'refund'))`)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	defer rows.Close()
	var key string
	for rows.Next() {
		if err := rows.Scan(&key); err != nil {
			return "", err
		}
	}
	return key, rows.Err()
}

// stepsEvidence is the recomputed decomposition beside the settled amounts.
func stepsEvidence(ps *settlement.PolicySet, r *recomputed) map[string]any {
	full, err := ps.Settle(r.Claim)
	steps := []map[string]any{}
	if err == nil {
		for _, s := range full.Steps {
			steps = append(steps, map[string]any{"name": s.Name, "label": s.Label, "amount": s.Amount.String(), "detail": s.Detail})
		}
	}
	kind := r.RegKind
	if kind == "" {
		kind = "（无有效备案）"
	}
	// Which table the recompute used: a flag under the example table (示例)
	// or a stale revision says more about the table than about the claim.
	in := ps.Info()
	policy := map[string]any{"source": in.Source, "title": in.Title, "revision": in.Revision, "example": in.Example, "sha256": in.SHA256}
	if t, err := ps.Terms(r.Claim); err == nil {
		policy["policy_region"] = string(t.Region)
	}
	settled := map[string]string{"total": r.Total.String(), "fund": r.Fund.String(), "account": r.Account.String(), "cash": r.Cash.String()}
	if r.FundParts {
		// 统筹 is compared; the other funds are reported as settled.
		settled["fund_compared"] = "hifp_pay 统筹基金支出"
		settled["other_funds"] = r.OtherFunds.String()
	}
	return map[string]any{
		"policy":      policy,
		"settled":     settled,
		"recomputed":  map[string]string{"total": r.Res.Total.String(), "fund": r.Res.Fund.String(), "account": r.Res.Account.String(), "cash": r.Res.Cash.String(), "in_scope": r.Res.InScope.String(), "deductible": r.Res.Deductible.String(), "full_own_pay": r.Res.FullOwnPay.String(), "pre_self_pay": r.Res.PreSelfPay.String(), "over_ceiling": r.Res.OverCeiling.String(), "ratio": fmt.Sprintf("%.2f%%", float64(r.Res.Ratio)/100)},
		"differences": map[string]string{"fund": (r.Fund - r.Res.Fund).String(), "account": (r.Account - r.Res.Account).String(), "cash": (r.Cash - r.Res.Cash).String()},
		"steps":       steps,
		"claim": map[string]any{
			"insured_region": string(r.Claim.InsuredRegion), "treatment_region": string(r.Claim.TreatmentRegion),
			"insurance_type": r.Insurance, "retiree": r.Claim.Retiree, "visit_type": r.VisitType, "hospital_level": r.OrgLevel,
			"registration_kind": kind, "registration_used": r.RegUsed, "registration_on_settlement": r.RegID,
			"emergency": r.Emergency, "nth_admission": r.Claim.NthAdmission,
			"fund_used_ytd": r.Claim.FundUsedYTD.String(), "deductible_used_ytd": r.Claim.DeductibleUsedYTD.String(),
			"account_balance_before": r.Claim.AccountBalance.String(), "lines": len(r.Claim.Lines),
		},
		"tolerance":      r.Tol.String(),
		"rounding_steps": r.Steps,
		"visit": map[string]any{"settlement_id": r.ID, "person_id": r.Person, "visit_type": r.VisitType,
			"admitted_at": r.Admitted.Format(time.DateTime), "settled_at": r.Settled.Format(time.DateTime)},
		"org": map[string]any{"org_code": r.Org, "name": r.OrgName, "level": r.OrgLevel},
	}
}

// absFen is |x|.
func absFen(x contract.Fen) contract.Fen {
	if x < 0 {
		return -x
	}
	return x
}

// Contract enum values the recompute branches on.
const (
	visitInpatient    = "inpatient"
	visitOutpatient   = "outpatient"
	insuranceEmployee = "employee"
)
