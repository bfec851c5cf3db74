package reports

// Sheet is one table exported from a page (the case workbench, the
// quarantine) as a workbook with the reports' conventions: a bold frozen
// header, an AutoFilter, money as numeric cells from the decimal literal.
type Sheet struct {
	Name  string     // ≤ 31 characters
	Heads []string   // zh-CN then English
	Money []bool     // per column: a yuan amount
	Rows  [][]string // every value already formatted
}

// Workbook writes sheets as one xlsx file.
func Workbook(sheets ...Sheet) ([]byte, error) {
	var ts []*table
	for _, s := range sheets {
		t := &table{Sheet: s.Name}
		for i, h := range s.Heads {
			col := column{Head: h, Kind: textCol, Width: 18}
			if i < len(s.Money) && s.Money[i] {
				col.Kind = moneyCol
			}
			t.Columns = append(t.Columns, col)
		}
		for _, r := range s.Rows {
			t.add(r...)
		}
		ts = append(ts, t)
	}
	return workbook(ts)
}
