package pipeline

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// problem is one reason a row is malformed (or, as a warning, suspicious).
type problem struct {
	col string // "" for a row-level problem
	msg string
}

// checker validates rows of one table. It is not safe for concurrent use.
type checker struct {
	table   *contract.Table
	cfg     Config
	minTime int64 // micros
	maxTime int64 // micros
	today   int64 // days
	idx     map[string]int
	vals    []value
	probs   []problem
	warns   []problem
	rule    func(c *checker) // table-specific cross-column rules
	// normalized is set when check rewrote a value (a lowercase x in an ID
	// number), so the row must be rebuilt rather than passed through.
	normalized bool
	// rename, when set, names a column as the file does (a national
	// field) in quarantine reasons.
	rename func(col string) string
}

const (
	minDate = -25567 // 1900-01-01
	maxDate = 84003  // 2199-12-31
)

func newChecker(t *contract.Table, cfg Config) *checker {
	now := cfg.Now().In(chinaTime)
	_, offset := now.Zone()
	wallNow := now.Unix() + int64(offset)
	c := &checker{
		table:   t,
		cfg:     cfg,
		minTime: cfg.MinTime.Unix() * 1_000_000,
		maxTime: (wallNow + int64(cfg.MaxFuture/time.Second)) * 1_000_000,
		today:   wallNow / 86400,
		idx:     make(map[string]int, len(t.Columns)),
		vals:    make([]value, len(t.Columns)),
	}
	for i, col := range t.Columns {
		c.idx[col.Name] = i
	}
	c.rule = tableRules[t.Name]
	return c
}

var chinaTime = time.FixedZone("CST", 8*3600)

// check parses and validates one row of cells (aligned with the table's
// columns). Afterwards c.vals holds the values, c.probs the reasons the row
// is malformed (empty = well formed) and c.warns its data-quality notes.
func (c *checker) check(cells []cell) {
	c.probs, c.warns, c.normalized = c.probs[:0], c.warns[:0], false
	for i := range c.table.Columns {
		col := &c.table.Columns[i]
		v, err := parseCell(col, cells[i])
		c.vals[i] = v
		if err != nil {
			c.probs = append(c.probs, problem{col.Name, err.Error()})
			continue
		}
		if v.null {
			continue
		}
		switch col.Type {
		case contract.Timestamp:
			if v.i < c.minTime || v.i > c.maxTime {
				c.probs = append(c.probs, problem{col.Name, fmt.Sprintf("timestamp %s is outside %s .. %s",
					formatTimestamp(v.i), formatTimestamp(c.minTime), formatTimestamp(c.maxTime))})
			}
		case contract.Date:
			if v.i < minDate || v.i > maxDate {
				c.probs = append(c.probs, problem{col.Name, fmt.Sprintf("date %s is outside 1900-01-01 .. 2199-12-31", formatDate(v.i))})
			}
		}
		switch col.Format {
		case contract.FormatRegion:
			if !contract.ValidRegionCode(v.s) {
				c.probs = append(c.probs, problem{col.Name, fmt.Sprintf("%q is not a 6-digit GB/T 2260 region code", v.s)})
			}
		case contract.FormatIDNumber:
			if c.otherCredential(cells) {
				break
			}
			if n := contract.NormalizeIDNumber(v.s); n != v.s {
				v.s, c.normalized = n, true
				c.vals[i] = v
			}
			if _, err := contract.ParseIDNumber(v.s); err != nil {
				c.probs = append(c.probs, problem{col.Name, err.Error()})
			}
		}
	}
	if len(c.probs) == 0 && c.rule != nil {
		c.rule(c)
	}
}

// otherCredential reports a person whose credential is not the resident ID
// (cert_type set and not 01, DOMAIN.md §13.1): a passport or 港澳通行证
// number has no GB 11643 check digit.
func (c *checker) otherCredential(cells []cell) bool {
	i, ok := c.idx["cert_type"]
	if !ok {
		return false
	}
	t := cells[i]
	if t.kind == cellNull {
		return false
	}
	s := t.text
	if t.kind != cellText {
		s = cellText2(t)
	}
	return s != "" && s != residentIDCert
}

// residentIDCert is psn_cert_type 01, 居民身份证 (DOMAIN.md §13.1).
const residentIDCert = "01"

// get returns the value of the named column of the current row.
func (c *checker) get(name string) value { return c.vals[c.idx[name]] }

func (c *checker) fail(col, format string, args ...any) {
	c.probs = append(c.probs, problem{col, fmt.Sprintf(format, args...)})
}

func (c *checker) warn(col, format string, args ...any) {
	c.warns = append(c.warns, problem{col, fmt.Sprintf(format, args...)})
}

// reason joins every problem of the row into one readable sentence and
// returns the first offending column.
func (c *checker) reason() (col, msg string) {
	name := func(col string) string {
		if c.rename == nil || col == "" {
			return col
		}
		return c.rename(col)
	}
	parts := make([]string, len(c.probs))
	for i, p := range c.probs {
		if p.col == "" {
			parts[i] = p.msg
		} else {
			parts[i] = name(p.col) + ": " + p.msg
		}
	}
	return name(c.probs[0].col), strings.Join(parts, "; ")
}

func (c *checker) warning() string {
	if len(c.warns) == 0 {
		return ""
	}
	parts := make([]string, len(c.warns))
	for i, p := range c.warns {
		parts[i] = p.col + ": " + p.msg
	}
	return strings.Join(parts, "; ")
}

// tableRules are the cross-column rules of each table (CONTRACT.md "Bad input").
var tableRules = map[string]func(c *checker){
	"institutions": func(c *checker) {
		level, kind := c.get("level").i, c.get("kind").s
		if level < 0 || level > 3 {
			c.fail("level", "hospital grade %d is not 0, 1, 2 or 3", level)
		} else if kind == "pharmacy" && level != 0 {
			c.fail("level", "a pharmacy has level 0, not %d", level)
		}
		if b := c.get("beds"); !b.null && b.i < 0 {
			c.fail("beds", "approved beds %d is negative", b.i)
		}
		code, region := c.get("org_code").s, c.get("region_code").s
		if len(code) == 12 && code[1:7] != region {
			c.warn("org_code", "region digits %s differ from region_code %s", code[1:7], region)
		}
	},
	"persons": func(c *checker) {
		sex, birth := c.get("sex").i, c.get("birth_date").i
		if sex != 1 && sex != 2 {
			c.fail("sex", "sex %d is not 1 (male) or 2 (female)", sex)
			return
		}
		if birth > c.today {
			c.fail("birth_date", "birth date %s is in the future", formatDate(birth))
		}
		if d := c.get("death_date"); !d.null && (d.i < birth || d.i > c.today) {
			c.fail("death_date", "death date %s is before birth or in the future", formatDate(d.i))
		}
		if ct := c.get("cert_type"); !ct.null && ct.s != residentIDCert {
			return
		}
		id, _ := contract.ParseIDNumber(c.get("id_number").s)
		idBirth := id.BirthDate.Unix() / 86400
		var notes []string
		if int64(id.Sex) != sex {
			notes = append(notes, fmt.Sprintf("ID number sex digit says %d, sex column says %d", id.Sex, sex))
		}
		if idBirth != birth {
			notes = append(notes, fmt.Sprintf("ID number birth digits say %s, birth_date says %s", formatDate(idBirth), formatDate(birth)))
		}
		for _, n := range notes {
			if c.cfg.StrictIDAgreement {
				c.fail("id_number", "%s", n)
			} else {
				c.warn("id_number", "%s", n)
			}
		}
	},
	"catalog": func(c *checker) {
		if s := c.get("sex_restriction"); !s.null && s.i != 1 && s.i != 2 {
			c.fail("sex_restriction", "sex restriction %d is not 1 or 2", s.i)
		}
		if p := c.get("price_ceiling"); !p.null && p.i < 0 {
			c.fail("price_ceiling", "price ceiling is negative")
		}
		checkValidity(c)
	},
	"registrations": checkValidity,
	"settlements": func(c *checker) {
		total, fund, acct, cash := c.get("total_amount").i, c.get("fund_paid").i, c.get("account_paid").i, c.get("cash_paid").i
		if d := total - fund - acct - cash; d > 1 || d < -1 {
			c.fail("total_amount", "total_amount %s ≠ fund_paid %s + account_paid %s + cash_paid %s (off by %s)",
				contract.Fen(total), contract.Fen(fund), contract.Fen(acct), contract.Fen(cash), contract.Fen(d))
		}
		if dis := c.get("discharged_at"); !dis.null && dis.i < c.get("admitted_at").i {
			c.fail("discharged_at", "discharged_at %s is before admitted_at %s", formatTimestamp(dis.i), formatTimestamp(c.get("admitted_at").i))
		}
	},
	"settlement_refunds": func(c *checker) {
		total, fund, acct, cash := c.get("total_amount").i, c.get("fund_paid").i, c.get("account_paid").i, c.get("cash_paid").i
		if total > 0 || fund > 0 || acct > 0 || cash > 0 {
			c.fail("total_amount", "a refund's amounts are zero or negative (refd_setl_flag = 1)")
		}
		if d := total - fund - acct - cash; d > 1 || d < -1 {
			c.fail("total_amount", "total_amount %s ≠ fund_paid %s + account_paid %s + cash_paid %s (off by %s)",
				contract.Fen(total), contract.Fen(fund), contract.Fen(acct), contract.Fen(cash), contract.Fen(d))
		}
	},
	"fee_items": func(c *checker) {
		q, p, amount := c.get("quantity").i, c.get("unit_price").i, c.get("amount").i
		if !amountMatches(amount, q, p) {
			c.fail("amount", "amount %s ≠ quantity %s × unit_price %s",
				contract.Fen(amount), contract.Qty(q), contract.Qty(p))
		}
	},
	"card_swipes": func(c *checker) {
		if c.get("kind").s == "balance_query" && c.get("amount").i != 0 {
			c.fail("amount", "a balance_query swipe has amount 0, not %s", contract.Fen(c.get("amount").i))
		}
	},
	"stock_movements": func(c *checker) {
		if q := c.get("quantity").i; q <= 0 {
			c.fail("quantity", "quantity %s must be positive (kind gives the direction)", contract.Qty(q))
		}
		if p := c.get("unit_price"); !p.null && p.i < 0 {
			c.fail("unit_price", "unit price is negative")
		}
	},
}

func checkValidity(c *checker) {
	if to := c.get("valid_to"); !to.null && to.i < c.get("valid_from").i {
		c.fail("valid_to", "valid_to %s is before valid_from %s", formatDate(to.i), formatDate(c.get("valid_from").i))
	}
}

// amountMatches reports |amount − quantity × unit_price| ≤ 0.01, exactly:
// quantity and price have 4 decimals, amount 2.
func amountMatches(amount, q, p int64) bool {
	const lim = 1 << 31
	if q > -lim && q < lim && p > -lim && p < lim && amount > -lim*lim && amount < lim*lim/1_000_000 {
		d := amount*1_000_000 - q*p
		return d >= -1_000_000 && d <= 1_000_000
	}
	prod := new(big.Int).Mul(big.NewInt(q), big.NewInt(p))
	d := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(amount), big.NewInt(1_000_000)), prod)
	return d.CmpAbs(big.NewInt(1_000_000)) <= 0
}

// errFatal marks a problem that makes a whole file unreadable.
var errFatal = errors.New("file cannot be read")
