package reports

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/medaudit/medaudit/contract"
)

// colKind is how a column's values are typed in the workbook and aligned
// in HTML.
type colKind int

const (
	textCol  colKind = iota // a string cell, never a formula
	intCol                  // a whole number
	moneyCol                // yuan with two decimals, from contract.Fen
	rateCol                 // a ratio or a number with up to 3 decimals
)

type column struct {
	Head  string // zh-CN then English, e.g. "疑点数 Flags"
	Kind  colKind
	Width float64 // workbook column width in characters
}

// table is one table of a report: rendered in HTML under its chart and
// written as a sheet of the workbook, from the same values. Every value is
// a string: numbers are already formatted (money by contract.Fen.String),
// so nothing passes through float64 on its way to a cell.
type table struct {
	Sheet   string // workbook sheet name (≤ 31 characters)
	Columns []column
	Rows    [][]string
}

func (t *table) add(values ...string) {
	if len(values) != len(t.Columns) {
		panic(fmt.Sprintf("sheet %s: %d values for %d columns", t.Sheet, len(values), len(t.Columns)))
	}
	t.Rows = append(t.Rows, values)
}

// Numeric reports whether column i holds numbers (right-aligned in HTML).
func (t *table) Numeric(i int) bool { return t.Columns[i].Kind != textCol }

func itoa(n int64) string         { return strconv.FormatInt(n, 10) }
func money(f contract.Fen) string { return f.String() }

// nanValue stands for a missing number (no data).
var nanValue = math.NaN()

// rate formats a ratio with three decimals; NaN (no data) is empty.
func rate(x float64) string {
	if x != x {
		return ""
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

// workbook writes the tables as sheets: a bold, frozen header row, an
// AutoFilter over the whole range, column widths, money as numeric cells
// with the "0.00" format written from the decimal literal, text from the
// data as string cells.
func workbook(tables []*table) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDE5F0"}}})
	if err != nil {
		return nil, err
	}
	fmtMoney := "0.00"
	fmtRate := "0.000"
	moneyStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &fmtMoney})
	if err != nil {
		return nil, err
	}
	rateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &fmtRate})
	if err != nil {
		return nil, err
	}
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.Sheet); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(t.Sheet); err != nil {
			return nil, err
		}
		if err := writeSheet(f, t, head, moneyStyle, rateStyle); err != nil {
			return nil, fmt.Errorf("sheet %s: %w", t.Sheet, err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeSheet(f *excelize.File, t *table, head, moneyStyle, rateStyle int) error {
	s := t.Sheet
	for c, col := range t.Columns {
		cell, _ := excelize.CoordinatesToCellName(c+1, 1)
		if err := f.SetCellStr(s, cell, col.Head); err != nil {
			return err
		}
		name, _ := excelize.ColumnNumberToName(c + 1)
		width := col.Width
		if width == 0 {
			width = 14
		}
		if err := f.SetColWidth(s, name, name, width); err != nil {
			return err
		}
		switch col.Kind {
		case moneyCol:
			if err := f.SetColStyle(s, name, moneyStyle); err != nil {
				return err
			}
		case rateCol:
			if err := f.SetColStyle(s, name, rateStyle); err != nil {
				return err
			}
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(t.Columns), 1)
	if err := f.SetCellStyle(s, "A1", last, head); err != nil {
		return err
	}
	for r, row := range t.Rows {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+2)
			var err error
			switch {
			case t.Columns[c].Kind == textCol:
				err = f.SetCellStr(s, cell, v)
			case v == "":
			default:
				// A numeric cell from the decimal literal: no float64 on the way.
				err = f.SetCellDefault(s, cell, v)
			}
			if err != nil {
				return err
			}
		}
	}
	if err := f.SetPanes(s, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	end, _ := excelize.CoordinatesToCellName(len(t.Columns), max(len(t.Rows)+1, 2))
	return f.AutoFilter(s, "A1:"+end, nil)
}
