package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// nationalSource reads a national extract file and hands on, per row, the
// cells of the table its role feeds, aligned with that table's columns.
type nationalSource struct {
	inner rowSource
	nat   *national
	out   *contract.Table
	in    map[string]int // national field → position in the inner row
	outIx map[string]int
	row   srcRow
	seen  map[string]bool // keys already handed on (derived persons, institutions)
	cur   *srcRow
}

func openNational(f BatchFile, cfg Config) (rowSource, error) {
	inner := f
	inner.Table = f.national.table
	inner.national = nil
	inner.Layout = LayoutNHSA
	src, err := openSource(inner, cfg)
	if err != nil {
		return nil, err
	}
	s := &nationalSource{inner: src, nat: f.national, out: f.Table, in: map[string]int{}, outIx: map[string]int{}, seen: map[string]bool{}}
	for i, c := range f.national.table.Columns {
		s.in[c.Name] = i
	}
	for i, c := range f.Table.Columns {
		s.outIx[c.Name] = i
	}
	s.row.cells = make([]cell, len(f.Table.Columns))
	s.row.raw = func() string { return s.cur.raw() }
	return s, nil
}

func (s *nationalSource) close() error { return s.inner.close() }

// get returns the text of a national field of the current row ("" when
// absent or empty).
func (s *nationalSource) get(name string) string {
	c := s.cur.cells[s.in[name]]
	if c.kind == cellText {
		return strings.TrimSpace(c.text)
	}
	return cellText2(c)
}

func (s *nationalSource) cell(name string) cell { return s.cur.cells[s.in[name]] }

func (s *nationalSource) set(name string, c cell) { s.row.cells[s.outIx[name]] = c }

func (s *nationalSource) setText(name, v string) {
	if v == "" {
		s.set(name, cell{})
		return
	}
	s.set(name, cell{kind: cellText, text: v})
}

// code maps a national field through its dictionary; an unknown code makes
// the row bad, naming the field.
func (s *nationalSource) code(set *codeSet) (nationalCode, bool) {
	v := s.get(set.field)
	if v == "" {
		return nationalCode{}, true
	}
	c, ok := set.lookup(v)
	if !ok && s.row.bad == "" {
		s.row.badCol = set.field
		s.row.bad = fmt.Sprintf("%s %s: 未知代码 unknown code %q (not in the national dictionary, DOMAIN.md §6.3)", set.field, set.label, v)
	}
	return c, ok
}

func (s *nationalSource) next() (*srcRow, error) {
	for {
		r, err := s.inner.next()
		if err != nil {
			return nil, err
		}
		if s.load(r) {
			return &s.row, nil
		}
	}
}

// load maps the national row r into s.row and reports whether the source's
// role hands it on.
func (s *nationalSource) load(r *srcRow) bool {
	s.cur = r
	s.row.line, s.row.extra, s.row.void, s.row.bad, s.row.badCol = r.line, r.extra, false, r.bad, ""
	for i := range s.row.cells {
		s.row.cells[i] = cell{}
	}
	if r.bad != "" {
		// counted once, by the settlements role
		return s.nat.role != roleRefunds && s.nat.role != rolePersons && s.nat.role != roleInstitutions
	}
	return s.mapRow()
}

// parallel reports whether rows of the source's role map independently of
// each other (persons and institutions are derived once per key), so that
// workers with a clone each may map them.
func (s *nationalSource) parallel() bool {
	return s.nat.role != rolePersons && s.nat.role != roleInstitutions
}

// clone returns a source for one worker: the same file, role and lookups,
// its own current row.
func (s *nationalSource) clone() *nationalSource {
	c := new(nationalSource)
	*c = *s
	c.row = srcRow{cells: make([]cell, len(s.row.cells))}
	c.row.raw = func() string { return c.cur.raw() }
	c.seen = nil
	return c
}

// mapRow fills s.row from the current national row for the source's role
// and reports whether this role hands the row on.
func (s *nationalSource) mapRow() bool {
	switch s.nat.role {
	case roleVisits:
		s.mapVisit()
		return true
	case roleFeeItems:
		s.mapFeeItem()
		return true
	}
	// setl_d: each row belongs to exactly one of the settlements and
	// refunds roles; the settlements role also counts void rows.
	valid, refund := s.get("vali_flag"), s.get("refd_setl_flag")
	switch s.nat.role {
	case roleSettlements:
		if valid == "0" {
			s.row.void = true
			return true
		}
		if _, ok := s.code(validFlags); !ok {
			return true
		}
		if _, ok := s.code(refundFlags); !ok {
			return true
		}
		if refund == "1" {
			return false
		}
		s.mapSettlement()
		return true
	case roleRefunds:
		if valid == "0" || refund != "1" || !validFlags.known(valid) {
			return false
		}
		s.mapRefund()
		return true
	case rolePersons:
		if valid == "0" || s.seen[s.get("psn_no")] {
			return false
		}
		s.seen[s.get("psn_no")] = true
		s.mapPerson()
		return true
	case roleInstitutions:
		if valid == "0" || s.seen[s.get("fixmedins_code")] {
			return false
		}
		s.seen[s.get("fixmedins_code")] = true
		s.mapInstitution()
		return true
	}
	return false
}

func (s *nationalSource) mapVisit() {
	for _, c := range visitsTable.Columns {
		s.set(c.Name, s.cell(c.Name))
	}
	s.code(&medTypes)
	s.code(&dischargeWays)
}

// mapSettlement is setl_d (with its visit from mdtrt_d) → settlements
// (DOMAIN.md §13.3, amounts §5.4).
func (s *nationalSource) mapSettlement() {
	mt, _ := s.code(&medTypes)
	s.code(&certTypes)
	mid, _ := s.code(midSettleFlags)
	s.checkIdentities()
	s.setText("settlement_id", s.get("setl_id"))
	s.setText("person_id", s.get("psn_no"))
	s.setText("card_no", s.get("mdtrt_cert_no"))
	s.setText("org_code", s.get("fixmedins_code"))
	s.setText("visit_type", mt.mapped)
	s.setText("med_type", s.get("med_type"))
	s.setText("cert_type", s.get("mdtrt_cert_type"))
	s.setText("mid_setl_flag", mid.mapped)
	id := s.get("mdtrt_id")
	s.setText("mdtrt_id", id)
	var v visitInfo
	var haveVisit bool
	if s.nat.aux != nil && id != "" {
		v, haveVisit = s.nat.aux.visits[id]
	}
	s.setText("dept_code", v.dept)
	s.setText("doctor_id", v.doctor)
	s.setText("diagnosis_code", v.diag)
	// A settlement's own period is begndate..enddate (a mid-stay
	// settlement covers part of the stay); the visit gives the times of
	// day when the period starts at admission or ends at discharge.
	begin, end := s.cell("begndate"), s.cell("enddate")
	switch {
	case haveVisit && (isEmpty(begin) || sameDay(begin, v.begin)):
		s.set("admitted_at", v.begin)
	default:
		s.set("admitted_at", dayStart(begin))
	}
	if mt.mapped == "inpatient" {
		switch {
		case haveVisit && !isEmpty(v.end) && (isEmpty(end) || sameDay(end, v.end)):
			// The settlement that closes the stay carries how it ended.
			s.set("discharged_at", v.end)
			s.setText("dscg_way", v.dscgWay)
		default:
			s.set("discharged_at", dayEnd(end))
		}
	}
	s.set("total_amount", s.cell("medfee_sumamt"))
	s.set("fund_paid", s.cell("fund_pay_sumamt"))
	s.set("account_paid", s.cell("acct_pay"))
	s.set("cash_paid", s.cell("psn_cash_pay"))
	s.set("insured_region", s.cell("insu_admdvs"))
	treat := s.cell("mdtrtarea_admvs")
	if isEmpty(treat) {
		if code := s.get("fixmedins_code"); len(code) == 12 {
			treat = cell{kind: cellText, text: code[1:7]}
		}
	}
	s.set("treatment_region", treat)
	s.set("settled_at", s.cell("setl_time"))
	for _, name := range []string{"registration_id", "referral", "emergency", "days_rinp_flag_31",
		"fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_amt", "act_pay_dedc",
		"hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay"} {
		s.set(name, s.cell(name))
	}
}

// mapRefund is a setl_d refund row → settlement_refunds.
func (s *nationalSource) mapRefund() {
	s.checkIdentities()
	s.setText("settlement_id", s.get("setl_id"))
	s.setText("init_setl_id", s.get("init_setl_id"))
	if s.get("init_setl_id") == "" && s.row.bad == "" {
		s.row.badCol = "init_setl_id"
		s.row.bad = "init_setl_id 原结算ID: 退费结算缺少原结算 a refund (refd_setl_flag = 1) names no original settlement"
	}
	s.setText("person_id", s.get("psn_no"))
	s.setText("org_code", s.get("fixmedins_code"))
	s.setText("mdtrt_id", s.get("mdtrt_id"))
	s.set("total_amount", s.cell("medfee_sumamt"))
	s.set("fund_paid", s.cell("fund_pay_sumamt"))
	s.set("account_paid", s.cell("acct_pay"))
	s.set("cash_paid", s.cell("psn_cash_pay"))
	s.set("hifp_pay", s.cell("hifp_pay"))
	s.set("settled_at", s.cell("setl_time"))
}

// mapPerson derives a person from the first valid setl_d row of a psn_no
// (DOMAIN.md §13.1).
func (s *nationalSource) mapPerson() {
	g, _ := s.code(&genders)
	it, _ := s.code(&insuTypes)
	s.setText("person_id", s.get("psn_no"))
	s.setText("id_number", s.get("certno"))
	s.setText("cert_type", s.get("psn_cert_type"))
	s.setText("name", s.get("psn_name"))
	s.setText("sex", g.mapped)
	s.set("birth_date", s.cell("brdy"))
	s.set("insured_region", s.cell("insu_admdvs"))
	s.setText("insurance_type", it.mapped)
	if s.nat.aux != nil {
		s.setText("death_date", s.nat.aux.deaths[s.get("psn_no")])
	}
}

// mapInstitution derives an institution from the first valid setl_d row of
// a fixmedins_code: P… is a pharmacy; an H… with a grade is a hospital and
// an ungraded one a clinic; the region is the code's digits 2–7 (DOMAIN.md
// §6.1, §13.7). Approved beds come only from a contract file.
func (s *nationalSource) mapInstitution() {
	lv, _ := s.code(&hospLevels)
	code := s.get("fixmedins_code")
	s.setText("org_code", code)
	s.setText("name", s.get("fixmedins_name"))
	level := lv.mapped
	kind := "hospital"
	switch {
	case strings.HasPrefix(code, "P"):
		kind, level = "pharmacy", "0"
	case level == "" || level == "0":
		kind, level = "clinic", "0"
	}
	s.setText("kind", kind)
	s.setText("level", level)
	if len(code) == 12 {
		s.setText("region_code", code[1:7])
	} else {
		s.set("region_code", s.cell("mdtrtarea_admvs"))
	}
}

// mapFeeItem is fee_list_d → fee_items (DOMAIN.md §13.4).
func (s *nationalSource) mapFeeItem() {
	cat, _ := s.code(&chrgitmTypes)
	lv, _ := s.code(&chrgitmLevels)
	th, _ := s.code(takeHomeFlags)
	code := s.get("med_list_codg")
	category := cat.mapped
	if s.get("med_chrgitm_type") == "14" && s.nat.aux != nil && s.nat.aux.mealItems[code] {
		category = "meal"
	}
	s.setText("item_id", s.get("bkkp_sn"))
	s.setText("settlement_id", s.get("setl_id"))
	s.setText("item_code", code)
	s.setText("item_name", s.get("hilist_name"))
	s.setText("category", category)
	s.setText("catalog_class", lv.mapped)
	s.set("quantity", s.cell("cnt"))
	s.set("unit_price", s.cell("pric"))
	s.set("amount", s.cell("det_item_fee_sumamt"))
	s.set("charged_at", s.cell("fee_ocur_time"))
	s.set("trace_code", s.cell("drug_trac_codg"))
	s.setText("dscg_tkdrug_flag", th.mapped)
}

// nationalFields names, per role, the national field a contract column is
// read from, for quarantine reasons (visits keep the national names).
var nationalFields = map[string]map[string]string{
	roleSettlements: {"settlement_id": "setl_id", "person_id": "psn_no", "card_no": "mdtrt_cert_no", "org_code": "fixmedins_code",
		"visit_type": "med_type", "admitted_at": "begndate", "discharged_at": "enddate", "total_amount": "medfee_sumamt",
		"fund_paid": "fund_pay_sumamt", "account_paid": "acct_pay", "cash_paid": "psn_cash_pay", "insured_region": "insu_admdvs",
		"treatment_region": "mdtrtarea_admvs", "settled_at": "setl_time", "cert_type": "mdtrt_cert_type", "inscp_amt": "inscp_amt"},
	roleRefunds: {"settlement_id": "setl_id", "person_id": "psn_no", "org_code": "fixmedins_code", "total_amount": "medfee_sumamt",
		"fund_paid": "fund_pay_sumamt", "account_paid": "acct_pay", "cash_paid": "psn_cash_pay", "settled_at": "setl_time"},
	rolePersons: {"person_id": "psn_no", "id_number": "certno", "name": "psn_name", "sex": "gend", "birth_date": "brdy",
		"insured_region": "insu_admdvs", "insurance_type": "insutype", "cert_type": "psn_cert_type"},
	roleInstitutions: {"org_code": "fixmedins_code", "name": "fixmedins_name", "level": "hosp_lv", "region_code": "fixmedins_code"},
	roleFeeItems: {"item_id": "bkkp_sn", "settlement_id": "setl_id", "item_code": "med_list_codg", "item_name": "hilist_name",
		"category": "med_chrgitm_type", "catalog_class": "chrgitm_lv", "quantity": "cnt", "unit_price": "pric",
		"amount": "det_item_fee_sumamt", "charged_at": "fee_ocur_time", "trace_code": "drug_trac_codg"},
}

// fieldOf is the national field a column of the role's table comes from.
func (s *nationalSource) fieldOf(col string) string {
	if f, ok := nationalFields[s.nat.role][col]; ok {
		return f
	}
	return col
}

// identity is one amount identity of DOMAIN.md §5.4: lhs = Σ terms.
type identity struct {
	name  string
	lhs   string
	terms []string
	// all: the identity applies only when every field is present; else
	// when the first term is, absent terms counting as zero.
	all bool
}

var setlIdentities = []identity{
	{name: "医疗费总额分解 medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_amt",
		lhs: "medfee_sumamt", terms: []string{"fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_amt"}, all: true},
	{name: "基金支付总额 fund_pay_sumamt = hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay",
		lhs: "fund_pay_sumamt", terms: []string{"hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay"}},
	{name: "个人负担 psn_part_amt = acct_pay + psn_cash_pay",
		lhs: "psn_part_amt", terms: []string{"acct_pay", "psn_cash_pay"}, all: true},
	{name: "总额 medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay",
		lhs: "medfee_sumamt", terms: []string{"fund_pay_sumamt", "acct_pay", "psn_cash_pay"}, all: true},
}

var amountCol = contract.Column{Name: "amount", Type: contract.Amount}

// checkIdentities checks the amount identities of §5.4 within 0.01 and names
// every one that fails.
func (s *nationalSource) checkIdentities() {
	if s.row.bad != "" {
		return
	}
	var failed []string
	first := ""
	for _, id := range setlIdentities {
		lhs, ok := s.amount(id.lhs)
		if !ok {
			continue
		}
		var sum int64
		present := 0
		for _, t := range id.terms {
			if v, ok := s.amount(t); ok {
				sum += v
				present++
			}
		}
		if present == 0 || id.all && present < len(id.terms) || !id.all && isEmpty(s.cell(id.terms[0])) {
			continue
		}
		if d := lhs - sum; d > 1 || d < -1 {
			failed = append(failed, fmt.Sprintf("%s: %s ≠ %s (相差 off by %s)", id.name, contract.Fen(lhs), contract.Fen(sum), contract.Fen(d)))
			if first == "" {
				first = id.lhs
			}
		}
	}
	if len(failed) > 0 {
		s.row.badCol = first
		s.row.bad = "金额恒等式不成立 amount identity fails: " + strings.Join(failed, "; ")
	}
}

// amount parses a money field; false when absent or malformed (a malformed
// required amount is reported by the table's checks).
func (s *nationalSource) amount(name string) (int64, bool) {
	c := s.cell(name)
	if isEmpty(c) {
		return 0, false
	}
	v, err := parseCell(&amountCol, c)
	if err != nil {
		return 0, false
	}
	return v.i, true
}

func isEmpty(c cell) bool {
	return c.kind == cellNull || c.kind == cellText && strings.TrimSpace(c.text) == ""
}

// dayOfCell returns the day of a date or timestamp cell.
func dayOfCell(c cell) (int64, bool) {
	switch c.kind {
	case cellDate:
		return c.num, true
	case cellTime:
		return floorDiv(c.num, microsPerDay), true
	case cellText:
		t := strings.TrimSpace(c.text)
		if d, ok := parseDate(t); ok {
			return d, true
		}
		if ts, ok := parseTimestamp(t); ok {
			return floorDiv(ts, microsPerDay), true
		}
	}
	return 0, false
}

func sameDay(a, b cell) bool {
	x, ok1 := dayOfCell(a)
	y, ok2 := dayOfCell(b)
	return ok1 && ok2 && x == y
}

// dayStart and dayEnd turn a settlement period's date into the first and
// last second of that day; a malformed value passes on for the checks to
// report.
func dayStart(c cell) cell { return dayAt(c, 0) }
func dayEnd(c cell) cell   { return dayAt(c, microsPerDay-1_000_000) }

func dayAt(c cell, offset int64) cell {
	if isEmpty(c) {
		return cell{}
	}
	d, ok := dayOfCell(c)
	if !ok {
		return c
	}
	return cell{kind: cellTime, num: d*microsPerDay + offset}
}

// loadAux reads what the national roles complete their rows with from the
// tables already loaded in this batch's transaction.
func loadAux(ctx context.Context, conn *sql.Conn, role string) (*nationalAux, error) {
	aux := &nationalAux{}
	switch role {
	case roleSettlements:
		aux.visits = map[string]visitInfo{}
		rows, err := conn.QueryContext(ctx, `SELECT mdtrt_id, begntime, endtime, coalesce(adm_dept_codg, ''), coalesce(chfpdr_code, ''),
			coalesce(dscg_maindiag_code, ''), coalesce(dscg_way, '') FROM visits`)
		if err != nil {
			return nil, fmt.Errorf("read visits: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var v visitInfo
			var begin, end sql.NullTime
			if err := rows.Scan(&id, &begin, &end, &v.dept, &v.doctor, &v.diag, &v.dscgWay); err != nil {
				return nil, err
			}
			v.begin = timeCell(begin)
			v.end = timeCell(end)
			aux.visits[id] = v
		}
		return aux, rows.Err()
	case rolePersons:
		aux.deaths = map[string]string{}
		rows, err := conn.QueryContext(ctx, `SELECT psn_no, strftime(max(die_date), '%Y-%m-%d') FROM visits WHERE die_date IS NOT NULL GROUP BY psn_no`)
		if err != nil {
			return nil, fmt.Errorf("read deaths: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p, d string
			if err := rows.Scan(&p, &d); err != nil {
				return nil, err
			}
			aux.deaths[p] = d
		}
		return aux, rows.Err()
	case roleFeeItems:
		aux.mealItems = map[string]bool{}
		rows, err := conn.QueryContext(ctx, `SELECT DISTINCT item_code FROM catalog WHERE category = 'meal'`)
		if err != nil {
			return nil, fmt.Errorf("read meal items: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return nil, err
			}
			aux.mealItems[c] = true
		}
		return aux, rows.Err()
	}
	return aux, nil
}

// timeCell carries a DuckDB TIMESTAMP (China Standard Time wall clock, read
// back as UTC) as a cell.
func timeCell(t sql.NullTime) cell {
	if !t.Valid {
		return cell{}
	}
	return cell{kind: cellTime, num: t.Time.UnixMicro()}
}
