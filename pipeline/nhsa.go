package pipeline

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// Layout is how a batch file is laid out: the contract's eight files, or the
// national medical-insurance information platform's extract tables
// (setl_d, mdtrt_d, fee_list_d; DOMAIN.md §6.4, §13).
type Layout string

// Layouts.
const (
	LayoutContract Layout = "contract"
	LayoutNHSA     Layout = "nhsa"
)

// national is the role a national extract file plays in a batch: one file
// of the platform can feed several tables (setl_d gives settlements, their
// refunds and, when their contract files are absent, persons and
// institutions).
type national struct {
	table *contract.Table // the national table's columns as read (setlD, mdtrtD, feeListD)
	role  string          // roleSettlements, roleRefunds, …
	// lookups, filled when the file is loaded (nil while the batch is probed)
	aux *nationalAux
}

// Roles of a national file.
const (
	roleSettlements  = "settlements"
	roleRefunds      = "settlement_refunds"
	rolePersons      = "persons"
	roleInstitutions = "institutions"
	roleVisits       = "visits"
	roleFeeItems     = "fee_items"
)

// nationalAux holds what a national file's rows are completed with from
// tables loaded before it in the same batch.
type nationalAux struct {
	visits    map[string]visitInfo // mdtrt_id → visit (mdtrt_d)
	deaths    map[string]string    // psn_no → die_date
	mealItems map[string]bool      // item codes the catalogue classes as meal
}

type visitInfo struct {
	begin, end         cell
	dept, doctor, diag string
	dscgWay            string
}

func nationalColumns(names ...string) []contract.Column {
	cols := make([]contract.Column, len(names))
	for i, n := range names {
		req := strings.HasSuffix(n, "!")
		cols[i] = contract.Column{Name: strings.TrimSuffix(n, "!"), Type: contract.String, Required: req}
	}
	return cols
}

// The national tables as read: the fields the mapping uses (DOMAIN.md §6.4,
// §13; "!" marks a field without which the file cannot be read). Every other
// column of an extract is kept in extra. Contract column names that have no
// national field (registration_id, referral, emergency, days_rinp_flag_31)
// are taken when a file carries them.
var (
	setlD = contract.Table{Name: "setl_d", Label: "结算信息", Columns: nationalColumns(
		"setl_id!", "mdtrt_id", "psn_no!", "certno", "psn_cert_type", "psn_name", "gend", "brdy", "insutype",
		"insu_admdvs!", "fixmedins_code!", "fixmedins_name", "hosp_lv", "mdtrtarea_admvs", "mdtrt_cert_type",
		"mdtrt_cert_no", "med_type!", "begndate", "enddate", "setl_time!", "medfee_sumamt!", "fulamt_ownpay_amt",
		"overlmt_selfpay", "preselfpay_amt", "inscp_amt", "act_pay_dedc", "hifp_pay", "cvlserv_pay", "hifes_pay",
		"hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt!", "psn_part_amt", "acct_pay!",
		"psn_cash_pay!", "refd_setl_flag", "init_setl_id", "vali_flag", "mid_setl_flag",
		"registration_id", "referral", "emergency", "days_rinp_flag_31")}
	mdtrtD = contract.Table{Name: "mdtrt_d", Label: "就诊信息", Columns: nationalColumns(
		"mdtrt_id!", "psn_no!", "fixmedins_code", "begntime!", "endtime", "med_type", "dscg_maindiag_code",
		"adm_dept_codg", "chfpdr_code", "dscg_way", "die_date", "ipt_days")}
	feeListD = contract.Table{Name: "fee_list_d", Label: "费用明细", Columns: nationalColumns(
		"setl_id!", "bkkp_sn!", "mdtrt_id", "fee_ocur_time!", "cnt!", "pric!", "det_item_fee_sumamt!",
		"med_list_codg!", "hilist_name!", "med_chrgitm_type!", "chrgitm_lv!", "dscg_tkdrug_flag", "drug_trac_codg")}
	nationalTables = []*contract.Table{&setlD, &mdtrtD, &feeListD}
)

// nationalAliases are the other names extracts give a field (DOMAIN.md §6.4
// lists inscp_amt, othfund_pay and cash_payamt in one project's setl_d; the
// issue's field list the alternatives).
var nationalAliases = map[string]string{
	"inscp_scp_amt":    "inscp_amt",
	"othfund_pay":      "oth_pay",
	"cash_payamt":      "psn_cash_pay",
	"feedetl_sn":       "bkkp_sn",
	"medins_list_name": "hilist_name",
}

// nationalHeader folds a national file's column names to lower case (one
// published SQL*Loader control file writes them upper case) and renames an
// alias to its field unless the file also carries the field itself.
func nationalHeader(names []string) []string {
	out := make([]string, len(names))
	have := map[string]bool{}
	for i, n := range names {
		out[i] = strings.ToLower(strings.TrimSpace(n))
		have[out[i]] = true
	}
	for i, n := range out {
		if to, ok := nationalAliases[n]; ok && !have[to] {
			out[i] = to
			have[to] = true
		}
	}
	return out
}

// visitsTable is mdtrt_d as loaded: the visit of one or more settlements.
var visitsTable = contract.Table{
	Name: "visits", Label: "就诊信息", Key: []string{"mdtrt_id"},
	Columns: []contract.Column{
		{Name: "mdtrt_id", Type: contract.String, Required: true, Label: "就诊ID"},
		{Name: "psn_no", Type: contract.String, Required: true, Label: "人员编号"},
		{Name: "fixmedins_code", Type: contract.String, Label: "定点医药机构编号"},
		{Name: "begntime", Type: contract.Timestamp, Required: true, Label: "开始时间"},
		{Name: "endtime", Type: contract.Timestamp, Label: "结束时间"},
		{Name: "med_type", Type: contract.String, Label: "医疗类别"},
		{Name: "dscg_maindiag_code", Type: contract.String, Label: "住院主诊断代码"},
		{Name: "adm_dept_codg", Type: contract.String, Label: "入院科室编码"},
		{Name: "chfpdr_code", Type: contract.String, Label: "主诊医师代码"},
		{Name: "dscg_way", Type: contract.String, Label: "离院方式"},
		{Name: "die_date", Type: contract.Date, Label: "死亡日期"},
		{Name: "ipt_days", Type: contract.Int, Label: "住院天数"},
	},
}

// recogniseNational tells which national table a file is, by its name
// (setl_d.csv, SETL_D_202503.csv.gz, …) or else by its header.
func recogniseNational(name string, f BatchFile, cfg Config) (*contract.Table, bool) {
	if t, ok := nationalByName(name); ok {
		return t, true
	}
	if f.Format != FormatCSV && f.Format != FormatCSVGz {
		return nil, false
	}
	header, err := peekHeader(f, cfg)
	if err != nil {
		return nil, false
	}
	have := map[string]bool{}
	for _, h := range nationalHeader(header) {
		have[h] = true
	}
	switch {
	case have["setl_id"] && have["medfee_sumamt"]:
		return &setlD, true
	case have["setl_id"] && have["det_item_fee_sumamt"]:
		return &feeListD, true
	case have["mdtrt_id"] && have["begntime"] && !have["setl_id"]:
		return &mdtrtD, true
	}
	return nil, false
}

// nationalByName recognises a national table by its file's base name:
// setl_d, SETL_D_202503, mdtrt_d.2025-03, ….
func nationalByName(name string) (*contract.Table, bool) {
	base := strings.ToLower(name)
	for _, t := range nationalTables {
		if base == t.Name || strings.HasPrefix(base, t.Name+"_") || strings.HasPrefix(base, t.Name+".") {
			return t, true
		}
	}
	return nil, false
}

// peekHeader reads the header line of a delimited file in its dialect.
func peekHeader(f BatchFile, cfg Config) ([]string, error) {
	d, err := detectDialect(f, cfg)
	if err != nil {
		return nil, err
	}
	r, done, err := openPlain(f, cfg)
	if err != nil {
		return nil, err
	}
	defer done()
	text, err := decodedReader(io.LimitReader(r, 1<<20), d.Encoding)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(text)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	var in io.Reader = br
	if d.singleQuoted() {
		in = quoteSwapper{r: br}
	}
	cr := csv.NewReader(in)
	cr.Comma = d.comma()
	cr.FieldsPerRecord = -1
	h, err := cr.Read()
	if err != nil {
		return nil, err
	}
	if d.singleQuoted() {
		for i := range h {
			h[i] = swapQuotes(h[i])
		}
	}
	return h, nil
}

// findBatchFiles lists a batch folder's files in load order: contract files
// and the roles of national extract files (a folder may mix both layouts).
func findBatchFiles(dir string, cfg Config) (files []BatchFile, ignored []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read batch folder: %w", err)
	}
	byTable := map[string]BatchFile{}
	nat := map[string]BatchFile{}
	add := func(key string, f BatchFile) error {
		if prev, dup := byTable[key]; dup {
			return fmt.Errorf("%s is delivered twice: %s and %s", key, prev.Name, f.Name)
		}
		byTable[key] = f
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		info, err := e.Info()
		if err != nil {
			return nil, nil, err
		}
		f := BatchFile{Name: name, Path: filepath.Join(dir, name), Size: info.Size()}
		base, format, ok := splitFormat(name)
		if !ok {
			ignored = append(ignored, name)
			continue
		}
		f.Format = format
		if t, ok := contract.TableByName(base); ok {
			f.Table, f.Layout = t, LayoutContract
			if err := add(t.Name, f); err != nil {
				return nil, nil, err
			}
			continue
		}
		if cfg.Layout == LayoutContract {
			ignored = append(ignored, name)
			continue
		}
		nt, ok := recogniseNational(base, f, cfg)
		if !ok {
			ignored = append(ignored, name)
			continue
		}
		f.Layout = LayoutNHSA
		if prev, dup := nat[nt.Name]; dup {
			return nil, nil, fmt.Errorf("%s is delivered twice: %s and %s", nt.Name, prev.Name, name)
		}
		nat[nt.Name] = f
	}
	if cfg.Layout == LayoutNHSA && len(nat) == 0 {
		return nil, ignored, fmt.Errorf("%s: --layout nhsa but no national table (setl_d, mdtrt_d, fee_list_d by name or header)", dir)
	}
	if err := addNationalRoles(nat, byTable, add); err != nil {
		return nil, nil, err
	}
	for _, name := range loadOrder {
		if f, ok := byTable[name]; ok {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, ignored, fmt.Errorf("%s: %w", dir, ErrNoFiles)
	}
	sort.Strings(ignored)
	return files, ignored, nil
}

// loadOrder is the order tables are loaded in: parents first.
var loadOrder = func() []string {
	order := []string{visitsTable.Name}
	for _, t := range contract.Tables {
		order = append(order, t.Name)
	}
	return order
}()

// addNationalRoles turns the national files found into the tables they feed.
func addNationalRoles(nat map[string]BatchFile, byTable map[string]BatchFile, add func(string, BatchFile) error) error {
	role := func(f BatchFile, table *contract.Table, nt *contract.Table, r, suffix string) BatchFile {
		f.Table = table
		f.national = &national{table: nt, role: r}
		if suffix != "" {
			f.Name += "#" + suffix
		}
		return f
	}
	table := func(name string) *contract.Table { t, _ := contract.TableByName(name); return t }
	if f, ok := nat[mdtrtD.Name]; ok {
		if _, ok := nat[setlD.Name]; !ok {
			return fmt.Errorf("%s (mdtrt_d) comes without setl_d: visits are loaded with their settlements", f.Name)
		}
		if err := add(visitsTable.Name, role(f, &visitsTable, &mdtrtD, roleVisits, "")); err != nil {
			return err
		}
	}
	if f, ok := nat[setlD.Name]; ok {
		// Persons and institutions come from their contract files when a
		// batch has them (approved beds, death registry, retirees); else
		// from setl_d.
		if _, ok := byTable["institutions"]; !ok {
			byTable["institutions"] = role(f, table("institutions"), &setlD, roleInstitutions, "institutions")
		}
		if _, ok := byTable["persons"]; !ok {
			byTable["persons"] = role(f, table("persons"), &setlD, rolePersons, "persons")
		}
		if err := add("settlements", role(f, table("settlements"), &setlD, roleSettlements, "")); err != nil {
			return err
		}
		if err := add("settlement_refunds", role(f, table("settlement_refunds"), &setlD, roleRefunds, "refunds")); err != nil {
			return err
		}
	}
	if f, ok := nat[feeListD.Name]; ok {
		if err := add("fee_items", role(f, table("fee_items"), &feeListD, roleFeeItems, "")); err != nil {
			return err
		}
	}
	return nil
}

// splitFormat splits a file name into its base and format.
func splitFormat(name string) (string, Format, bool) {
	for _, f := range Formats {
		if base, ok := strings.CutSuffix(name, "."+string(f)); ok {
			return base, f, true
		}
	}
	return "", "", false
}
