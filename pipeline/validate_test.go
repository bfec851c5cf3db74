package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// idWithX returns a valid ID number whose check character is X.
func idWithX(t *testing.T) string {
	for seq := 100; seq < 999; seq++ {
		first := "61100219560312" + itoa3(seq)
		if contract.IDCheckChar(first) == 'X' && (seq%2 == 1) {
			return first + "X"
		}
	}
	t.Fatal("no ID with check X")
	return ""
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// TestValidationRules changes one field of the valid batch per case and
// checks that exactly that row is quarantined with its column and reason,
// or (wantLoaded) that a tolerated variation still loads.
func TestValidationRules(t *testing.T) {
	tests := []struct {
		name       string
		table      string
		row        int
		column     string
		value      string
		wantColumn string // quarantine column; "" for a row-level problem
		wantReason string // substring of the reason; "" = the row must load
	}{
		{"institution kind enum", "institutions", 0, "kind", "hosp", "kind", `"hosp" is not one of hospital, clinic, pharmacy`},
		{"institution level not int", "institutions", 0, "level", "三级", "level", "not an integer"},
		{"institution level range", "institutions", 0, "level", "5", "level", "hospital grade 5"},
		{"pharmacy with a grade", "institutions", 1, "level", "2", "level", "a pharmacy has level 0"},
		{"institution region 5 digits", "institutions", 0, "region_code", "33010", "region_code", "not a 6-digit GB/T 2260 region code"},
		{"institution region unknown province", "institutions", 0, "region_code", "990106", "region_code", "region code"},
		{"institution negative beds", "institutions", 0, "beds", "-3", "beds", "negative"},
		{"person name required", "persons", 0, "name", "", "name", "required value is empty"},
		{"person id check digit", "persons", 0, "id_number", pipelinetest.IDNumber("611002", "19560312", "123")[:17] + "0", "id_number", "check digit"},
		{"person id length", "persons", 0, "id_number", "61100219560312123", "id_number", "18 characters"},
		{"person id letters", "persons", 0, "id_number", "6110021956031212A4", "id_number", "17 digits"},
		{"person id birth digits", "persons", 0, "id_number", "611002195602301230", "id_number", "not a valid birth date"},
		{"person sex range", "persons", 0, "sex", "3", "sex", "not 1 (male) or 2 (female)"},
		{"person birth date syntax", "persons", 0, "birth_date", "1956-02-30", "birth_date", "not a date"},
		{"person insurance type", "persons", 0, "insurance_type", "职工", "insurance_type", "is not one of employee, resident"},
		{"person death before birth", "persons", 0, "death_date", "1950-01-01", "death_date", "before birth"},
		{"person insured region", "persons", 0, "insured_region", "61100A", "insured_region", "region code"},
		{"catalog ratio above 1", "catalog", 0, "selfpay_ratio", "1.5000", "selfpay_ratio", "not a share between 0 and 1"},
		{"catalog sex restriction", "catalog", 0, "sex_restriction", "3", "sex_restriction", "not 1 or 2"},
		{"catalog class", "catalog", 0, "catalog_class", "D", "catalog_class", "is not one of A, B, C"},
		{"registration validity", "registrations", 0, "valid_to", "2023-12-31", "valid_to", "before valid_from"},
		{"registration treatment region", "registrations", 0, "treatment_region", "33A106", "treatment_region", "region code"},
		{"registration kind", "registrations", 0, "kind", "holiday", "kind", "is not one of"},
		{"registration orphan person", "registrations", 0, "person_id", "P999", "person_id", "orphan: person_id P999 is not in persons"},
		{"settlement identity", "settlements", 1, "cash_paid", "35.00", "total_amount", "total_amount 36.00 ≠ fund_paid 0.00 + account_paid 0.00 + cash_paid 35.00"},
		{"settlement identity within 0.01", "settlements", 1, "cash_paid", "35.99", "", ""},
		{"settlement amount scale", "settlements", 1, "cash_paid", "36.001", "cash_paid", "too many decimal places"},
		{"settlement amount syntax", "settlements", 1, "cash_paid", "36,00", "cash_paid", "not a decimal number"},
		{"settlement timestamp syntax", "settlements", 1, "admitted_at", "2025/03/05 18:20", "admitted_at", "not a timestamp YYYY-MM-DD HH:MM:SS"},
		{"settlement timestamp too early", "settlements", 1, "admitted_at", "1999-12-31 10:00:00", "admitted_at", "outside"},
		{"settlement timestamp in the future", "settlements", 1, "settled_at", "2027-01-01 00:00:00", "settled_at", "outside"},
		{"settlement discharged before admitted", "settlements", 0, "discharged_at", "2025-03-01 10:00:00", "discharged_at", "before admitted_at"},
		{"settlement visit type", "settlements", 1, "visit_type", "home", "visit_type", "is not one of inpatient, outpatient, pharmacy"},
		{"settlement referral bool", "settlements", 1, "referral", "maybe", "referral", "not a boolean"},
		{"settlement required card", "settlements", 1, "card_no", "", "card_no", "required value is empty"},
		{"settlement orphan person", "settlements", 1, "person_id", "P404", "person_id", "orphan: person_id P404"},
		{"settlement orphan org", "settlements", 1, "org_code", "P33010699999", "org_code", "orphan: org_code P33010699999"},
		{"fee amount identity", "fee_items", 3, "amount", "37.00", "amount", "amount 37.00 ≠ quantity 3.0000 × unit_price 12.0000"},
		{"fee amount within 0.01", "fee_items", 3, "amount", "36.01", "", ""},
		{"fee quantity scale", "fee_items", 3, "quantity", "3.00001", "quantity", "too many decimal places"},
		{"fee category", "fee_items", 3, "category", "food", "category", "is not one of drug, bed"},
		{"fee orphan settlement", "fee_items", 3, "settlement_id", "S404", "settlement_id", "orphan: settlement_id S404"},
		{"swipe balance query amount", "card_swipes", 2, "amount", "5.00", "amount", "a balance_query swipe has amount 0"},
		{"swipe kind", "card_swipes", 2, "kind", "cashout", "kind", "is not one of settlement, purchase"},
		{"swipe orphan org", "card_swipes", 2, "org_code", "P33010600404", "org_code", "orphan: org_code"},
		{"swipe without settlement loads", "card_swipes", 1, "settlement_id", "S404", "", ""},
		{"stock quantity positive", "stock_movements", 0, "quantity", "-100.0000", "quantity", "must be positive"},
		{"stock date", "stock_movements", 0, "moved_on", "2025-13-01", "moved_on", "not a date"},
		{"stock kind", "stock_movements", 0, "kind", "theft", "kind", "is not one of purchase, sale, return, adjustment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			db := openDB(t)
			dir := t.TempDir()
			b := pipelinetest.Valid().Set(tc.table, tc.row, tc.column, tc.value)
			b.WriteCSV(t, dir)
			sum := ingest(t, db, dir, cfg)
			fs := fileSummary(t, sum, tc.table)
			var qTotal int64
			for _, f := range sum.Files {
				qTotal += f.Quarantined
			}
			var n int64
			if err := db.QueryRow(`SELECT count(*) FROM quarantine`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != qTotal {
				t.Errorf("quarantine table has %d rows, ledgers say %d", n, qTotal)
			}
			if tc.wantReason == "" {
				if fs.Quarantined != 0 || fs.Loaded != fs.Read {
					t.Fatalf("row should load: %+v", fs)
				}
				return
			}
			if fs.Quarantined != 1 || fs.Loaded != fs.Read-1 {
				t.Fatalf("want exactly one quarantined row: %+v", fs)
			}
			var line int64
			var col, reason, raw string
			err := db.QueryRow(`SELECT line, coalesce(column_name, ''), reason, raw FROM quarantine WHERE file = ?`, tc.table+".csv").Scan(&line, &col, &reason, &raw)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(tc.row + 2); line != want {
				t.Errorf("line = %d, want %d", line, want)
			}
			if col != tc.wantColumn {
				t.Errorf("column = %q, want %q", col, tc.wantColumn)
			}
			if !strings.Contains(reason, tc.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", reason, tc.wantReason)
			}
			if !strings.Contains(raw, b.Get(tc.table, tc.row, tc.column)) {
				t.Errorf("raw row %q does not hold the bad value %q", raw, tc.value)
			}
		})
	}
}

func TestIDNumberNormalisedAndAgreement(t *testing.T) {
	t.Run("lowercase x is normalised", func(t *testing.T) {
		cfg := testConfig(t)
		db := openDB(t)
		dir := t.TempDir()
		id := idWithX(t)
		pipelinetest.Valid().Set("persons", 0, "id_number", strings.ToLower(id)).WriteCSV(t, dir)
		sum := ingest(t, db, dir, cfg)
		if fs := fileSummary(t, sum, "persons"); fs.Quarantined != 0 {
			t.Fatalf("%+v", fs)
		}
		var got string
		if err := db.QueryRow(`SELECT id_number FROM persons WHERE person_id = 'P001'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != id {
			t.Errorf("id_number = %q, want %q", got, id)
		}
	})
	// Sex digit 4 (female) against sex 1: loaded with a note by default,
	// quarantined in strict mode.
	mismatch := pipelinetest.IDNumber("611002", "19560312", "124")
	t.Run("disagreement loads with a note", func(t *testing.T) {
		cfg := testConfig(t)
		db := openDB(t)
		dir := t.TempDir()
		pipelinetest.Valid().Set("persons", 0, "id_number", mismatch).WriteCSV(t, dir)
		fs := fileSummary(t, ingest(t, db, dir, cfg), "persons")
		if fs.Loaded != 2 || fs.Warnings != 1 {
			t.Fatalf("%+v", fs)
		}
		var note string
		if err := db.QueryRow(`SELECT note FROM data_quality WHERE record_key = 'P001'`).Scan(&note); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(note, "sex digit says 2, sex column says 1") {
			t.Errorf("note = %q", note)
		}
	})
	t.Run("strict mode quarantines", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.StrictIDAgreement = true
		db := openDB(t)
		dir := t.TempDir()
		pipelinetest.Valid().Set("persons", 0, "id_number", mismatch).WriteCSV(t, dir)
		fs := fileSummary(t, ingest(t, db, dir, cfg), "persons")
		if fs.Quarantined != 1 {
			t.Fatalf("%+v", fs)
		}
	})
}

func TestMalformedCSVRows(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	// A short row, a row with a broken quote, and a row with an extra field.
	path := filepath.Join(dir, "stock_movements.csv")
	data, _ := os.ReadFile(path)
	data = append(data, []byte("M003,P33010600002\n"+
		"M004,P33010600002,X,2025-03-06,sale,1.0000,\"12\"0\n"+
		"M005,P33010600002,XA01ABD075A002010100483,2025-03-06,sale,1.0000,12.0000,extra\n")...)
	os.WriteFile(path, data, 0o644)
	fs := fileSummary(t, ingest(t, db, dir, cfg), "stock_movements")
	if fs.Read != 5 || fs.Quarantined != 3 || fs.Loaded != 2 {
		t.Fatalf("%+v", fs)
	}
	rows, err := db.Query(`SELECT line, reason FROM quarantine ORDER BY line`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := []struct {
		line   int64
		reason string
	}{{4, "row has 2 fields, the header has 7"}, {5, "malformed CSV"}, {6, "row has 8 fields"}}
	for i := 0; rows.Next(); i++ {
		var line int64
		var reason string
		if err := rows.Scan(&line, &reason); err != nil {
			t.Fatal(err)
		}
		if i >= len(want) || line != want[i].line || !strings.Contains(reason, want[i].reason) {
			t.Errorf("quarantine row %d = %d %q", i, line, reason)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestUnknownColumnsKept checks that a column the contract does not name is
// kept in extra, not dropped.
func TestUnknownColumnsKept(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	path := filepath.Join(dir, "institutions.csv")
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	lines[0] += ",ownership"
	lines[1] += ",公立"
	lines[2] += ","
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	ingest(t, db, dir, cfg)
	var extra string
	if err := db.QueryRow(`SELECT extra FROM institutions WHERE org_code = 'H33010600001'`).Scan(&extra); err != nil {
		t.Fatal(err)
	}
	if extra != `{"ownership":"公立"}` {
		t.Errorf("extra = %q", extra)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM institutions WHERE extra IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("empty extra value should give NULL extra, got %d NULL rows", n)
	}
}
