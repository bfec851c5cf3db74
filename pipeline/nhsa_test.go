package pipeline_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// nationalBatch is a small extract of the national platform: an inpatient
// stay settled with a 大病保险 part, a passport holder's pharmacy purchase,
// its refund, and a void row; persons and institutions come from setl_d.
type nationalBatch map[string][]map[string]string

var nationalHeaders = map[string][]string{
	"setl_d": {"SETL_ID", "MDTRT_ID", "PSN_NO", "CERTNO", "PSN_CERT_TYPE", "PSN_NAME", "GEND", "BRDY", "INSUTYPE", "INSU_ADMDVS",
		"FIXMEDINS_CODE", "FIXMEDINS_NAME", "HOSP_LV", "MDTRTAREA_ADMVS", "MDTRT_CERT_TYPE", "MDTRT_CERT_NO", "MED_TYPE",
		"BEGNDATE", "ENDDATE", "SETL_TIME", "MEDFEE_SUMAMT", "FULAMT_OWNPAY_AMT", "OVERLMT_SELFPAY", "PRESELFPAY_AMT",
		"INSCP_SCP_AMT", "ACT_PAY_DEDC", "HIFP_PAY", "CVLSERV_PAY", "HIFES_PAY", "HIFMI_PAY", "HIFOB_PAY", "MAF_PAY",
		"OTHFUND_PAY", "FUND_PAY_SUMAMT", "PSN_PART_AMT", "ACCT_PAY", "CASH_PAYAMT", "REFD_SETL_FLAG", "INIT_SETL_ID",
		"VALI_FLAG", "MID_SETL_FLAG", "CLR_WAY"},
	"mdtrt_d": {"mdtrt_id", "psn_no", "fixmedins_code", "begntime", "endtime", "med_type", "dscg_maindiag_code",
		"adm_dept_codg", "chfpdr_code", "dscg_way", "die_date", "ipt_days", "coner_name"},
	"fee_list_d": {"setl_id", "bkkp_sn", "mdtrt_id", "fee_ocur_time", "cnt", "pric", "det_item_fee_sumamt", "med_list_codg",
		"hilist_name", "med_chrgitm_type", "chrgitm_lv", "dscg_tkdrug_flag", "drug_trac_codg", "selfpay_prop"},
}

func validNational() nationalBatch {
	inpatient := map[string]string{"setl_id": "S001", "mdtrt_id": "V001", "psn_no": "P001", "certno": pipelinetest.IDNumber("611002", "19560312", "123"),
		"psn_cert_type": "01", "psn_name": "张建国", "gend": "1", "brdy": "1956-03-12", "insutype": "390", "insu_admdvs": "611002",
		"fixmedins_code": "H33010600001", "fixmedins_name": "杭州西湖第一医院", "hosp_lv": "02", "mdtrtarea_admvs": "330106",
		"mdtrt_cert_type": "03", "mdtrt_cert_no": "A12345678", "med_type": "21", "begndate": "2025-03-02", "enddate": "2025-03-04",
		"setl_time": "2025-03-04 10:30:00", "medfee_sumamt": "1000.00", "fulamt_ownpay_amt": "100.00", "overlmt_selfpay": "0.00",
		"preselfpay_amt": "50.00", "inscp_scp_amt": "850.00", "act_pay_dedc": "300.00", "hifp_pay": "650.00", "cvlserv_pay": "0.00",
		"hifes_pay": "0.00", "hifmi_pay": "50.00", "hifob_pay": "0.00", "maf_pay": "0.00", "othfund_pay": "0.00",
		"fund_pay_sumamt": "700.00", "psn_part_amt": "300.00", "acct_pay": "0.00", "cash_payamt": "300.00",
		"refd_setl_flag": "0", "vali_flag": "1", "mid_setl_flag": "0", "clr_way": "1"}
	purchase := map[string]string{"setl_id": "S002", "mdtrt_id": "V002", "psn_no": "P002", "certno": "E12345678",
		"psn_cert_type": "08", "psn_name": "JOHN SMITH", "gend": "1", "brdy": "1980-01-01", "insutype": "310", "insu_admdvs": "330106",
		"fixmedins_code": "P33010600002", "fixmedins_name": "西湖大药房", "hosp_lv": "11", "mdtrtarea_admvs": "330106",
		"mdtrt_cert_type": "01", "mdtrt_cert_no": "B87654321", "med_type": "41", "begndate": "2025-03-05", "enddate": "2025-03-05",
		"setl_time": "2025-03-05 18:20:05", "medfee_sumamt": "36.00", "fund_pay_sumamt": "0.00", "psn_part_amt": "36.00",
		"acct_pay": "36.00", "cash_payamt": "0.00", "refd_setl_flag": "0", "vali_flag": "1"}
	refund := clone(purchase)
	refund["setl_id"], refund["refd_setl_flag"], refund["init_setl_id"] = "S003", "1", "S002"
	refund["medfee_sumamt"], refund["psn_part_amt"], refund["acct_pay"], refund["setl_time"] = "-36.00", "-36.00", "-36.00", "2025-03-05 18:40:00"
	void := clone(inpatient)
	void["setl_id"], void["vali_flag"], void["medfee_sumamt"] = "S004", "0", "999.00"
	return nationalBatch{
		"setl_d": {inpatient, purchase, refund, void},
		"mdtrt_d": {
			{"mdtrt_id": "V001", "psn_no": "P001", "fixmedins_code": "H33010600001", "begntime": "2025-03-02 09:10:00",
				"endtime": "2025-03-04 10:00:00", "med_type": "21", "dscg_maindiag_code": "J18.900", "adm_dept_codg": "0301",
				"chfpdr_code": "D330106000001", "dscg_way": "1", "coner_name": "张三"},
			{"mdtrt_id": "V002", "psn_no": "P002", "fixmedins_code": "P33010600002", "begntime": "2025-03-05 18:20:00", "med_type": "41"},
		},
		"fee_list_d": {
			{"setl_id": "S001", "bkkp_sn": "F001", "mdtrt_id": "V001", "fee_ocur_time": "2025-03-02 12:00:00", "cnt": "2", "pric": "50",
				"det_item_fee_sumamt": "100.00", "med_list_codg": "001109000010000", "hilist_name": "普通病房床位费",
				"med_chrgitm_type": "01", "chrgitm_lv": "01"},
			{"setl_id": "S002", "bkkp_sn": "F002", "mdtrt_id": "V002", "fee_ocur_time": "2025-03-05 18:20:00", "cnt": "3", "pric": "12",
				"det_item_fee_sumamt": "36.00", "med_list_codg": "XA01ABD075A002010100483", "hilist_name": "地喹氯铵含片",
				"med_chrgitm_type": "09", "chrgitm_lv": "02", "dscg_tkdrug_flag": "0", "selfpay_prop": "0.1"},
		},
	}
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// write writes the batch into dir: comma, double quotes, UTF-8.
func (b nationalBatch) write(t *testing.T, dir string) {
	t.Helper()
	for name, rows := range b {
		var buf bytes.Buffer
		h := nationalHeaders[name]
		buf.WriteString(strings.Join(h, ",") + "\n")
		for _, r := range rows {
			vals := make([]string, len(h))
			for i, c := range h {
				vals[i] = r[strings.ToLower(c)]
			}
			buf.WriteString(strings.Join(vals, ",") + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, name+".csv"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func queryString(t *testing.T, db *pipeline.DB, q string, args ...any) string {
	t.Helper()
	var s string
	if err := db.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// TestNationalBatchLoads: setl_d / mdtrt_d / fee_list_d load into the
// contract tables; persons and institutions are derived from setl_d; the
// refund loads as a reversal of its original; the void row is counted.
func TestNationalBatchLoads(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	validNational().write(t, dir)
	sum := ingest(t, db, dir, cfg)
	if sum.Totals.Quarantined != 0 {
		var reasons []string
		rows, err := db.Query(`SELECT file || ':' || line || ' ' || reason FROM quarantine`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				t.Fatal(err)
			}
			reasons = append(reasons, r)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		t.Fatalf("quarantined: %v", reasons)
	}
	want := map[string][4]int64{ // read, loaded, void per table
		"visits": {2, 2, 0}, "institutions": {2, 2, 0}, "persons": {2, 2, 0}, "settlements": {3, 2, 1},
		"settlement_refunds": {1, 1, 0}, "fee_items": {2, 2, 0},
	}
	for _, f := range sum.Files {
		w := want[f.Table]
		if f.Read != w[0] || f.Loaded != w[1] || f.Void != w[2] || !f.Balanced() || f.Layout != pipeline.LayoutNHSA {
			t.Errorf("%s (%s): %+v, want read %d loaded %d void %d", f.File, f.Table, f, w[0], w[1], w[2])
		}
		delete(want, f.Table)
	}
	if len(want) > 0 {
		t.Errorf("no ledger for %v", want)
	}
	checks := []struct{ q, want string }{
		{`SELECT visit_type || '/' || med_type || '/' || strftime(admitted_at, '%Y-%m-%d %H:%M') || '/' || strftime(discharged_at, '%H:%M') || '/' || diagnosis_code || '/' || dscg_way || '/' || dept_code FROM settlements WHERE settlement_id = 'S001'`,
			"inpatient/21/2025-03-02 09:10/10:00/J18.900/1/0301"},
		{`SELECT hifp_pay || '/' || hifmi_pay || '/' || fund_paid || '/' || mdtrt_id || '/' || cert_type FROM settlements WHERE settlement_id = 'S001'`, "650.00/50.00/700.00/V001/03"},
		{`SELECT visit_type || '/' || card_no FROM settlements WHERE settlement_id = 'S002'`, "pharmacy/B87654321"},
		{`SELECT id_number || '/' || cert_type || '/' || insurance_type FROM persons WHERE person_id = 'P002'`, "E12345678/08/employee"},
		{`SELECT insurance_type || '/' || sex FROM persons WHERE person_id = 'P001'`, "resident/1"},
		{`SELECT kind || '/' || level || '/' || region_code FROM institutions WHERE org_code = 'H33010600001'`, "hospital/3/330106"},
		{`SELECT kind || '/' || level FROM institutions WHERE org_code = 'P33010600002'`, "pharmacy/0"},
		{`SELECT init_setl_id || '/' || total_amount || '/' || account_paid FROM settlement_refunds`, "S002/-36.00/-36.00"},
		{`SELECT category || '/' || catalog_class || '/' || (extra->>'selfpay_prop') FROM fee_items WHERE item_id = 'F002'`, "drug/B/0.1"},
		// A stay's money is the sum of its settlements and their refunds.
		{`SELECT sum(total_amount)::VARCHAR FROM (SELECT total_amount FROM settlements WHERE person_id = 'P002'
			UNION ALL SELECT total_amount FROM settlement_refunds WHERE person_id = 'P002')`, "0.00"},
		{`SELECT coner_name FROM (SELECT extra->>'coner_name' AS coner_name FROM visits WHERE mdtrt_id = 'V001')`, "张三"},
	}
	for _, c := range checks {
		if got := queryString(t, db, c.q); got != c.want {
			t.Errorf("%s\n = %q, want %q", c.q, got, c.want)
		}
	}
	// The passport holder's credential is not checked against GB 11643.
	if n := queryString(t, db, `SELECT count(*)::VARCHAR FROM settlements WHERE person_id = 'P002'`); n != "1" {
		t.Errorf("passport holder's settlements = %s", n)
	}
}

// TestNationalCodeSets: each national dictionary maps its codes (DOMAIN.md
// §6.3) and quarantines an unknown code naming the national field.
func TestNationalCodeSets(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		row         int
		field, code string
		// known code: the loaded value; unknown: the quarantine's file
		q, want string
	}{
		{"med_type 2101 inpatient, raw kept", "setl_d", 0, "med_type", "2101", `SELECT visit_type || '/' || med_type FROM settlements WHERE settlement_id = 'S001'`, "inpatient/2101"},
		{"med_type 28 day surgery", "setl_d", 0, "med_type", "28", `SELECT visit_type || '/' || med_type FROM settlements WHERE settlement_id = 'S001'`, "inpatient/28"},
		{"med_type 13 emergency outpatient", "setl_d", 0, "med_type", "13", `SELECT visit_type FROM settlements WHERE settlement_id = 'S001'`, "outpatient"},
		{"med_type unknown", "setl_d", 0, "med_type", "99", "", "setl_d.csv"},
		{"insutype 310 employee", "setl_d", 0, "insutype", "310", `SELECT insurance_type FROM persons WHERE person_id = 'P001'`, "employee"},
		{"insutype 392 resident", "setl_d", 0, "insutype", "392", `SELECT insurance_type FROM persons WHERE person_id = 'P001'`, "resident"},
		{"insutype unknown", "setl_d", 0, "insutype", "311", "", "setl_d.csv#persons"},
		{"gend 2", "setl_d", 0, "gend", "2", `SELECT sex::VARCHAR FROM persons WHERE person_id = 'P001'`, "2"},
		{"gend unknown", "setl_d", 0, "gend", "9", "", "setl_d.csv#persons"},
		{"hosp_lv 05 grade 2", "setl_d", 0, "hosp_lv", "05", `SELECT level::VARCHAR FROM institutions WHERE org_code = 'H33010600001'`, "2"},
		{"hosp_lv 11 ungraded clinic", "setl_d", 0, "hosp_lv", "11", `SELECT kind FROM institutions WHERE org_code = 'H33010600001'`, "clinic"},
		{"hosp_lv unknown", "setl_d", 0, "hosp_lv", "12", "", "setl_d.csv#institutions"},
		{"mdtrt_cert_type 02", "setl_d", 0, "mdtrt_cert_type", "02", `SELECT cert_type FROM settlements WHERE settlement_id = 'S001'`, "02"},
		{"mdtrt_cert_type unknown", "setl_d", 0, "mdtrt_cert_type", "04", "", "setl_d.csv"},
		{"mid_setl_flag 1", "setl_d", 0, "mid_setl_flag", "1", `SELECT mid_setl_flag::VARCHAR FROM settlements WHERE settlement_id = 'S001'`, "true"},
		{"mid_setl_flag unknown", "setl_d", 0, "mid_setl_flag", "2", "", "setl_d.csv"},
		{"refd_setl_flag unknown", "setl_d", 0, "refd_setl_flag", "2", "", "setl_d.csv"},
		{"vali_flag unknown", "setl_d", 0, "vali_flag", "Y", "", "setl_d.csv"},
		{"dscg_way 5 death", "mdtrt_d", 0, "dscg_way", "5", `SELECT dscg_way FROM settlements WHERE settlement_id = 'S001'`, "5"},
		{"dscg_way unknown", "mdtrt_d", 0, "dscg_way", "6", "", "mdtrt_d.csv"},
		{"mdtrt_d med_type unknown", "mdtrt_d", 0, "med_type", "77", "", "mdtrt_d.csv"},
		{"med_chrgitm_type 11 drug", "fee_list_d", 1, "med_chrgitm_type", "11", `SELECT category FROM fee_items WHERE item_id = 'F002'`, "drug"},
		{"med_chrgitm_type 07 nursing", "fee_list_d", 0, "med_chrgitm_type", "07", `SELECT category FROM fee_items WHERE item_id = 'F001'`, "nursing"},
		{"med_chrgitm_type 13 other", "fee_list_d", 0, "med_chrgitm_type", "13", `SELECT category FROM fee_items WHERE item_id = 'F001'`, "other"},
		{"med_chrgitm_type unknown", "fee_list_d", 0, "med_chrgitm_type", "15", "", "fee_list_d.csv"},
		{"chrgitm_lv 03 class C", "fee_list_d", 0, "chrgitm_lv", "03", `SELECT catalog_class FROM fee_items WHERE item_id = 'F001'`, "C"},
		{"chrgitm_lv unknown", "fee_list_d", 0, "chrgitm_lv", "04", "", "fee_list_d.csv"},
		{"dscg_tkdrug_flag 1", "fee_list_d", 1, "dscg_tkdrug_flag", "1", `SELECT dscg_tkdrug_flag::VARCHAR FROM fee_items WHERE item_id = 'F002'`, "true"},
		{"dscg_tkdrug_flag unknown", "fee_list_d", 1, "dscg_tkdrug_flag", "2", "", "fee_list_d.csv"},
		// A malformed value is named by its national field too.
		{"cnt not a number", "fee_list_d", 0, "cnt", "two", "", "fee_list_d.csv"},
		{"setl_time not a time", "setl_d", 0, "setl_time", "yesterday", "", "setl_d.csv"},
		{"certno check digit", "setl_d", 0, "certno", "110105194912310021", "", "setl_d.csv#persons"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t)
			dir := t.TempDir()
			b := validNational()
			b[tc.file][tc.row][tc.field] = tc.code
			b.write(t, dir)
			ingest(t, db, dir, cfg)
			if tc.q != "" {
				if got := queryString(t, db, tc.q); got != tc.want {
					t.Errorf("%s = %q, want %q", tc.q, got, tc.want)
				}
				return
			}
			var col, reason string
			if err := db.QueryRow(`SELECT column_name, reason FROM quarantine WHERE file = ? ORDER BY line LIMIT 1`, tc.want).Scan(&col, &reason); err != nil {
				t.Fatalf("no quarantined row in %s: %v", tc.want, err)
			}
			if col != tc.field || !strings.HasPrefix(reason, tc.field) ||
				strings.HasSuffix(tc.name, "unknown") && !strings.Contains(reason, "未知代码 unknown code") {
				t.Errorf("quarantined %s: %q, want it to name %s", col, reason, tc.field)
			}
		})
	}
}

// TestNationalAmountIdentities: each identity of DOMAIN.md §5.4 that fails
// by more than 0.01 quarantines the settlement, naming the identity.
func TestNationalAmountIdentities(t *testing.T) {
	tests := []struct {
		name   string
		edit   map[string]string
		column string
		names  string
	}{
		{"within 0.01", map[string]string{"fulamt_ownpay_amt": "100.01"}, "", ""},
		{"medfee decomposition", map[string]string{"fulamt_ownpay_amt": "90.00"}, "medfee_sumamt", "medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_amt"},
		{"fund parts", map[string]string{"hifmi_pay": "40.00"}, "fund_pay_sumamt", "fund_pay_sumamt = hifp_pay + cvlserv_pay"},
		{"personal part", map[string]string{"psn_part_amt": "290.00"}, "psn_part_amt", "psn_part_amt = acct_pay + psn_cash_pay"},
		{"total", map[string]string{"cash_payamt": "290.00", "psn_part_amt": "290.00"}, "medfee_sumamt", "medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t)
			dir := t.TempDir()
			b := validNational()
			for k, v := range tc.edit {
				b["setl_d"][0][k] = v
			}
			b.write(t, dir)
			sum := ingest(t, db, dir, cfg)
			fs := fileSummary(t, sum, "settlements")
			if tc.column == "" {
				if fs.Quarantined != 0 {
					t.Fatalf("%+v", fs)
				}
				return
			}
			var col, reason string
			if err := db.QueryRow(`SELECT column_name, reason FROM quarantine WHERE file = 'setl_d.csv' AND line = 2`).Scan(&col, &reason); err != nil {
				t.Fatal(err)
			}
			if col != tc.column || !strings.Contains(reason, tc.names) {
				t.Errorf("quarantined %s: %q, want %s naming %q", col, reason, tc.column, tc.names)
			}
		})
	}
}

// TestEncodingsAndDialects: the same contract batch written in GB18030,
// with a BOM, and with |, tab or single-quote dialects loads to the same
// tables, and the summary says how each file was read.
func TestEncodingsAndDialects(t *testing.T) {
	gb := func(b []byte) []byte {
		out, err := simplifiedchinese.GB18030.NewEncoder().Bytes(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// redelimit rewrites a CSV file written by encoding/csv with another
	// delimiter and quote; fields are quoted when they need it, or always.
	redelimit := func(delim, quote string, always bool) func([]byte) []byte {
		return func(b []byte) []byte {
			recs := parseCSV(t, b)
			var out bytes.Buffer
			for _, r := range recs {
				for i, v := range r {
					if i > 0 {
						out.WriteString(delim)
					}
					if always || strings.ContainsAny(v, delim+quote+"\n\"'") {
						v = quote + strings.ReplaceAll(v, quote, quote+quote) + quote
					}
					out.WriteString(v)
				}
				out.WriteString("\r\n")
			}
			return out.Bytes()
		}
	}
	tests := []struct {
		name string
		cfg  func(*pipeline.Config)
		edit func([]byte) []byte
		want pipeline.Dialect
	}{
		{"GB18030 detected", nil, gb, pipeline.Dialect{Encoding: "gb18030", Delimiter: ",", Quote: `"`}},
		{"GB18030 given", func(c *pipeline.Config) { c.Encoding = "gb18030" }, gb, pipeline.Dialect{Encoding: "gb18030", Delimiter: ",", Quote: `"`}},
		{"UTF-8 with BOM", nil, func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) }, pipeline.Dialect{Encoding: "utf-8", Delimiter: ",", Quote: `"`, BOM: true}},
		{"pipe", nil, redelimit("|", `"`, false), pipeline.Dialect{Encoding: "utf-8", Delimiter: "|", Quote: `"`}},
		{"tab", nil, redelimit("\t", `"`, false), pipeline.Dialect{Encoding: "utf-8", Delimiter: "\t", Quote: `"`}},
		{"single quotes, GBK, SQL*Loader style", nil, func(b []byte) []byte { return gb(redelimit(",", "'", true)(b)) },
			pipeline.Dialect{Encoding: "gb18030", Delimiter: ",", Quote: "'"}},
		{"dialect given", func(c *pipeline.Config) { c.Delimiter, c.Quote = "|", "'" }, redelimit("|", "'", false),
			pipeline.Dialect{Encoding: "utf-8", Delimiter: "|", Quote: "'"}},
	}
	refDB := openDB(t)
	refDir := t.TempDir()
	b := pipelinetest.Valid()
	// A value with the delimiters and both quotes in it.
	b.Set("institutions", 0, "name", `杭州"西湖"第一医院|分院, '东区'`)
	b.WriteCSV(t, refDir)
	ingest(t, refDB, refDir, testConfig(t))
	tables := []string{"institutions", "persons", "catalog", "registrations", "settlements", "settlement_refunds", "fee_items", "card_swipes", "stock_movements"}
	ref := map[string]string{}
	for _, table := range tables {
		ref[table] = contentDigest(t, refDB, table)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			db := openDB(t)
			dir := t.TempDir()
			b.WriteCSV(t, dir)
			for _, table := range tables {
				editFile(t, dir, table+".csv", tc.edit)
			}
			sum := ingest(t, db, dir, cfg)
			if sum.Totals.Quarantined != 0 {
				t.Fatalf("%+v", sum.Totals)
			}
			for _, f := range sum.Files {
				if f.File == "persons.csv" && (f.Dialect == nil || *f.Dialect != tc.want) {
					t.Errorf("persons.csv read as %+v, want %+v", f.Dialect, tc.want)
				}
			}
			for _, table := range tables {
				if got := contentDigest(t, db, table); got != ref[table] {
					t.Errorf("%s: %s, UTF-8 comma batch %s", table, got, ref[table])
				}
			}
		})
	}
}

// contentDigest is a table's row count and an order-independent digest of
// its contract columns (not the load metadata).
func contentDigest(t *testing.T, db *pipeline.DB, table string) string {
	t.Helper()
	tb, _ := contract.TableByName(table)
	cols := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		cols[i] = `"` + c.Name + `"`
	}
	return queryString(t, db, `SELECT count(*) || '/' || coalesce(sum(hash(`+strings.Join(cols, ", ")+`)), 0) FROM `+table)
}

func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestNationalIngestIsRepeatable: the same national batch delivered twice
// is unchanged, the void row counted again as void.
func TestNationalIngestIsRepeatable(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	validNational().write(t, dir)
	ingest(t, db, dir, cfg)
	sum, err := pipeline.Ingest(context.Background(), db, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Totals.Loaded != 0 || sum.Totals.Void != 1 || sum.Totals.Unchanged != sum.Totals.Read-1 {
		t.Errorf("second delivery: %+v", sum.Totals)
	}
}

// TestGB18030InvalidLaterFailsBatch: a GB18030 file whose invalid sequence
// lies past the part the encoding is detected from fails its batch, naming
// the line, and loads nothing.
func TestGB18030InvalidLaterFailsBatch(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	b := pipelinetest.Valid()
	b.Set("institutions", 0, "name", strings.Repeat("杭州西湖第一医院", 8000)) // 192 KB of text before row 2
	b.WriteCSV(t, dir)
	editFile(t, dir, "institutions.csv", func(data []byte) []byte {
		out, err := simplifiedchinese.GB18030.NewEncoder().Bytes(data)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Replace(out, []byte("P33010600002,"), []byte("P33010600002,\xff\xff"), 1)
	})
	_, err := pipeline.Ingest(context.Background(), db, dir, cfg)
	var be *pipeline.BatchError
	if !errors.As(err, &be) || be.File != "institutions.csv" || !strings.Contains(err.Error(), "line 3 is not valid gb18030") {
		t.Fatalf("err = %v", err)
	}
	if n := queryString(t, db, `SELECT count(*)::VARCHAR FROM institutions`); n != "0" {
		t.Errorf("%s institutions loaded", n)
	}
}

// TestNationalFormats: the national tables as CSV.gz and as Parquet (codes
// as strings, amounts as decimals) load the same tables as CSV.
func TestNationalFormats(t *testing.T) {
	cfg := testConfig(t)
	ref := openDB(t)
	csvDir := t.TempDir()
	validNational().write(t, csvDir)
	ingest(t, ref, csvDir, cfg)
	tables := []string{"institutions", "persons", "settlements", "settlement_refunds", "fee_items"}
	want := map[string]string{}
	for _, tb := range tables {
		want[tb] = contentDigest(t, ref, tb)
	}
	conv := map[string]string{
		"csv.gz":  `COPY (SELECT * FROM read_csv('%[1]s.csv', all_varchar = true)) TO '%[2]s.csv.gz' (HEADER, COMPRESSION gzip)`,
		"parquet": `COPY (SELECT * REPLACE (CAST(MEDFEE_SUMAMT AS DECIMAL(18,2)) AS MEDFEE_SUMAMT) FROM read_csv('%[1]s.csv', all_varchar = true)) TO '%[2]s.parquet' (FORMAT parquet)`,
	}
	for format, q := range conv {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{"setl_d", "mdtrt_d", "fee_list_d"} {
				stmt := q
				if name != "setl_d" {
					stmt = strings.Replace(q, "* REPLACE (CAST(MEDFEE_SUMAMT AS DECIMAL(18,2)) AS MEDFEE_SUMAMT)", "*", 1)
				}
				if _, err := ref.Exec(fmt.Sprintf(stmt, filepath.Join(csvDir, name), filepath.Join(dir, name))); err != nil {
					t.Fatal(err)
				}
			}
			db := openDB(t)
			sum := ingest(t, db, dir, cfg)
			if sum.Totals.Void != 1 || sum.Totals.Quarantined != 0 {
				t.Fatalf("%+v", sum.Totals)
			}
			for _, tb := range tables {
				if got := contentDigest(t, db, tb); got != want[tb] {
					t.Errorf("%s: %s, from CSV %s", tb, got, want[tb])
				}
			}
		})
	}
}

// TestLayoutOption: --layout contract ignores the national tables of a
// mixed folder; --layout nhsa refuses a folder without one; a national
// table with another name is recognised by its header.
func TestLayoutOption(t *testing.T) {
	mixed := t.TempDir()
	validNational().write(t, mixed)
	pipelinetest.Valid().WriteCSV(t, mixed)
	os.Remove(filepath.Join(mixed, "settlements.csv"))
	os.Remove(filepath.Join(mixed, "fee_items.csv"))
	os.Remove(filepath.Join(mixed, "settlement_refunds.csv"))
	os.Rename(filepath.Join(mixed, "fee_list_d.csv"), filepath.Join(mixed, "FY2025_detail.csv"))

	cfg := testConfig(t)
	sum := ingest(t, openDB(t), mixed, cfg)
	tables := map[string]string{}
	for _, f := range sum.Files {
		tables[f.Table] = f.File
	}
	if tables["fee_items"] != "FY2025_detail.csv" || tables["persons"] != "persons.csv" || tables["settlements"] != "setl_d.csv" {
		t.Errorf("mixed folder read as %v", tables)
	}

	cfg.Layout = pipeline.LayoutContract
	sum = ingest(t, openDB(t), mixed, cfg)
	for _, f := range sum.Files {
		if f.Layout != pipeline.LayoutContract {
			t.Errorf("--layout contract read %s as %s", f.File, f.Layout)
		}
	}

	contractOnly := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, contractOnly)
	cfg.Layout = pipeline.LayoutNHSA
	if _, err := pipeline.Ingest(context.Background(), openDB(t), contractOnly, cfg); err == nil || !strings.Contains(err.Error(), "no national table") {
		t.Errorf("--layout nhsa on contract files: %v", err)
	}
}
