package pipeline

import "testing"

// TestKeyOrder: keys strictly increasing under byte order or shortlex
// order are noted as such; a repeated, descending or NULL key is not.
func TestKeyOrder(t *testing.T) {
	text := func(keys ...string) [][]value {
		rows := make([][]value, len(keys))
		for i, k := range keys {
			rows[i] = []value{{s: k}}
		}
		return rows
	}
	cases := []struct {
		name       string
		text       []bool
		rows       [][]value
		lex, short bool
	}{
		{"byte order", []bool{true}, text("A1", "A2", "B0"), true, true},
		{"ids without leading zeros", []bool{true}, text("9", "10", "11"), false, true},
		{"sorted as strings", []bool{true}, text("10", "11", "9"), true, false},
		{"adjacent repeat", []bool{true}, text("A1", "A2", "A2", "A3"), false, false},
		{"earlier key again", []bool{true}, text("A1", "A2", "A1"), false, false},
		{"descending", []bool{true}, text("B", "A"), false, false},
		{"empty key then others", []bool{true}, text("", "A"), true, true},
		{"NULL key", []bool{true}, [][]value{{{s: "A"}}, {{null: true}}}, false, false},
		{"code and date", []bool{true, false},
			[][]value{{{s: "X1"}, {i: -3}}, {{s: "X1"}, {i: 2}}, {{s: "X2"}, {i: -9}}}, true, true},
		{"code and date repeated", []bool{true, false},
			[][]value{{{s: "X1"}, {i: 2}}, {{s: "X2"}, {i: 1}}, {{s: "X2"}, {i: 1}}}, false, false},
		{"same code, earlier date", []bool{true, false},
			[][]value{{{s: "X1"}, {i: 2}}, {{s: "X1"}, {i: -2}}}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := keyOrder{text: c.text, lex: true, short: true}
			for j := range c.text {
				k.cols = append(k.cols, j)
			}
			for _, r := range c.rows {
				k.note(r)
			}
			if k.lex != c.lex || k.short != c.short || k.rows != int64(len(c.rows)) {
				t.Errorf("lex %v short %v rows %d, want %v %v %d", k.lex, k.short, k.rows, c.lex, c.short, len(c.rows))
			}
		})
	}
}

// TestFileKeysDistinct: a file's keys are known distinct only when its rows
// passed one builder in order.
func TestFileKeysDistinct(t *testing.T) {
	ordered := keyOrder{rows: 3, lex: true}
	unordered := keyOrder{rows: 3}
	none := keyOrder{lex: true, short: true}
	cases := []struct {
		name   string
		orders []keyOrder
		want   bool
	}{
		{"no rows", []keyOrder{none}, true},
		{"one builder in order", []keyOrder{ordered, none}, true},
		{"one builder out of order", []keyOrder{unordered}, false},
		{"two builders, each in order", []keyOrder{ordered, ordered}, false},
	}
	for _, c := range cases {
		var f fileKeys
		for i := range c.orders {
			f.add(&c.orders[i])
		}
		if got := f.distinct(); got != c.want {
			t.Errorf("%s: distinct %v, want %v", c.name, got, c.want)
		}
	}
}
