package settlement

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/contract"
)

// fuzzPolicySets are the shipped defaults and the test policies.
func fuzzPolicySets(tb testing.TB) []*PolicySet {
	tb.Helper()
	def, err := DefaultPolicies()
	if err != nil {
		tb.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "policies.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	test, err := LoadPolicies(bytes.NewReader(src))
	if err != nil {
		tb.Fatal(err)
	}
	return []*PolicySet{def, test}
}

// lineSize is the bytes of fuzz input one Line is decoded from.
const lineSize = 1 + 4 + 4 + 8 + 2 + 4

// fuzzLines decodes fee lines from raw bytes: the class (A, B, C or a bad
// one), quantity, unit price, amount, class B share and price ceiling, all
// unchecked so that the engine's own validation is exercised.
func fuzzLines(b []byte) []Line {
	var lines []Line
	for ; len(b) >= lineSize; b = b[lineSize:] {
		ln := Line{
			Class:        [...]string{"A", "B", "C", "D"}[b[0]%4],
			Quantity:     contract.Qty(int32(binary.LittleEndian.Uint32(b[1:]))),
			UnitPrice:    contract.Qty(int32(binary.LittleEndian.Uint32(b[5:]))),
			Amount:       contract.Fen(int64(binary.LittleEndian.Uint64(b[9:]))),
			SelfPayRatio: int(int16(binary.LittleEndian.Uint16(b[17:]))),
			PriceCeiling: contract.Qty(int32(binary.LittleEndian.Uint32(b[19:]))),
		}
		if b[0]&0x80 != 0 { // a priced line: amount = quantity × price
			ln.Amount = contract.Fen(int64(ln.Quantity) * int64(ln.UnitPrice) / 1_000_000)
		}
		lines = append(lines, ln)
	}
	return lines
}

// encodeLine is the inverse of fuzzLines for seeds.
func encodeLine(class byte, qty, price int32, amount int64, selfPay int16, ceiling int32) []byte {
	b := make([]byte, lineSize)
	b[0] = class
	binary.LittleEndian.PutUint32(b[1:], uint32(qty))
	binary.LittleEndian.PutUint32(b[5:], uint32(price))
	binary.LittleEndian.PutUint64(b[9:], uint64(amount))
	binary.LittleEndian.PutUint16(b[17:], uint16(selfPay))
	binary.LittleEndian.PutUint32(b[19:], uint32(ceiling))
	return b
}

// checkResult asserts what must hold for any settled claim: the two
// decompositions of the total, no negative payment, the fund within the
// in-scope amount above the deductible and within what is left of the
// annual cap, the account within the balance (and unused by residents),
// Settle and SettleQuick agreeing, and the steps ending with the cash.
func checkResult(t *testing.T, ps *PolicySet, c Claim, r Result) {
	t.Helper()
	fail := func(what string) { t.Fatalf("%s\nclaim  %+v\nresult %+v", what, c, r) }
	switch {
	case r.Total != r.Fund+r.Account+r.Cash:
		fail("Total != Fund + Account + Cash")
	case r.Total != r.FullOwnPay+r.OverCeiling+r.PreSelfPay+r.InScope:
		fail("Total != FullOwnPay + OverCeiling + PreSelfPay + InScope")
	case r.Fund < 0 || r.Account < 0 || r.Deductible < 0:
		fail("negative fund, account or deductible")
	case r.Fund > max(r.InScope-r.Deductible, 0):
		fail("fund pays more than the in-scope amount above the deductible")
	case r.Account > c.AccountBalance:
		fail("account pays more than the balance")
	case c.InsuranceType == "resident" && r.Account != 0:
		fail("a resident paid from an account")
	case r.Ratio < -1 || r.Ratio > 10000:
		fail("ratio out of range")
	}
	vp := ps.lookup(c.InsuredRegion, c.Date).visits[map[string]int{"employee": 0, "resident": 1}[c.InsuranceType]][visitIdx[c.VisitType]]
	if capLeft := max(contract.Fen(vp.cap)-c.FundUsedYTD, 0); r.Fund > capLeft {
		fail("fund exceeds what is left of the annual cap")
	}
	if n := len(r.Steps); n == 0 || r.Steps[n-1].Name != "cash" || r.Steps[n-1].Amount != r.Cash {
		fail("steps do not end with the cash payment")
	}
	q, err := ps.SettleQuick(c)
	if err != nil {
		fail("SettleQuick fails: " + err.Error())
	}
	r.Steps = nil
	if !reflect.DeepEqual(q, r) {
		fail("SettleQuick differs from Settle")
	}
}

// FuzzSettle settles arbitrary claims (any region text, any kind, any
// amounts, refunds and malformed lines included) under the default and the
// test policies: a claim is refused as invalid or without a policy, or its
// result satisfies checkResult.
func FuzzSettle(f *testing.F) {
	priced := func(class byte) byte { return class | 0x80 }
	seedLines := bytes.Join([][]byte{
		encodeLine(priced(0), 2_0000, 50_0000, 0, 0, 0),
		encodeLine(priced(1), 3_0000, 12_0000, 0, 1000, 10_0000),
		encodeLine(priced(2), 1_0000, 864_0000, 0, 0, 0),
		encodeLine(0, 1_0000, -100_0000, -100_00, 0, 0),
	}, nil)
	for _, s := range []struct {
		insured, treatment string
		kinds, flags       uint8
	}{{"611002", "330106", 0, 0}, {"611025", "611002", 0x1b, 1}, {"330106", "330106", 0x26, 2}, {"440399", "110105", 0xff, 3}, {"x", "", 0, 0}} {
		f.Add(s.insured, s.treatment, s.kinds, s.flags, int8(1), int64(0), int64(0), int64(5_000_00), seedLines)
	}
	f.Add("611002", "330106", uint8(0), uint8(1), int8(2), int64(279_000_00), int64(0), int64(0), seedLines)
	f.Add("611002", "330106", uint8(0), uint8(0), int8(-1), int64(-1), int64(1<<62), int64(1<<62), encodeLine(0, 1<<30, 1<<30, 1<<62, -1, -1))
	sets := fuzzPolicySets(f)
	f.Fuzz(func(t *testing.T, insured, treatment string, kinds, flags uint8, nth int8, fundYTD, dedYTD, balance int64, lines []byte) {
		c := Claim{
			InsuredRegion:     contract.RegionCode(insured),
			TreatmentRegion:   contract.RegionCode(treatment),
			InsuranceType:     [...]string{"employee", "resident", "", "Employee"}[kinds&3],
			VisitType:         [...]string{"inpatient", "outpatient", "pharmacy", "emergency"}[kinds>>2&3],
			HospitalLevel:     int(kinds>>4&7) - 1,
			Registration:      append([]string{"", "", "unknown"}, contract.RegistrationKind...)[int(flags>>2)%8],
			Retiree:           flags&1 != 0,
			Emergency:         flags&2 != 0,
			NthAdmission:      int(nth),
			FundUsedYTD:       contract.Fen(fundYTD),
			DeductibleUsedYTD: contract.Fen(dedYTD),
			AccountBalance:    contract.Fen(balance),
			Lines:             fuzzLines(lines),
		}
		for _, ps := range sets {
			r, err := ps.Settle(c)
			if err != nil {
				if !errors.Is(err, ErrInvalidClaim) && !errors.Is(err, ErrNoPolicy) {
					t.Fatalf("error %v is neither an invalid claim nor a missing policy", err)
				}
				if _, qerr := ps.SettleQuick(c); qerr == nil || qerr.Error() != err.Error() {
					t.Fatalf("Settle: %v, SettleQuick: %v", err, qerr)
				}
				continue
			}
			checkResult(t, ps, c, r)
		}
	})
}

// FuzzLoadPolicies loads arbitrary policy files. A refused file reports
// errors that name where the problem is (each a *FieldError, or one YAML
// parse error); an accepted one lists distinct, valid region codes that
// resolve to themselves, and settles a set of ordinary claims correctly in
// every region, so the loader's checks are enough for the engine.
func FuzzLoadPolicies(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	files = append(append(files, bad...), filepath.Join("policies", "default.yaml"))
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("version: 1\nregions:\n  \"611002\": {}\n  \"611002\": {}\n"))
	f.Add([]byte("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"))
	claims := []Claim{
		{InsuranceType: "employee", VisitType: "inpatient", HospitalLevel: 3, Registration: "temporary", NthAdmission: 2, AccountBalance: 1_000_00,
			Lines: fuzzLines(bytes.Join([][]byte{encodeLine(0x80, 1_0000, 9_000_0000, 0, 0, 0), encodeLine(0x81, 2_0000, 40_0000, 0, 1500, 30_0000)}, nil))},
		{InsuranceType: "resident", VisitType: "outpatient", HospitalLevel: 1, Emergency: true,
			Lines: fuzzLines(encodeLine(0x82, 1_0000, 300_0000, 0, 0, 0))},
		{InsuranceType: "employee", VisitType: "pharmacy", Retiree: true, FundUsedYTD: 1 << 40, AccountBalance: 50_00,
			Lines: fuzzLines(encodeLine(0x80, 3_0000, 12_0000, 0, 0, 0))},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		ps, err := LoadPolicies(bytes.NewReader(src))
		if err != nil {
			if ps != nil {
				t.Fatal("a PolicySet with an error")
			}
			checkLoadError(t, err)
			return
		}
		regions := ps.Regions()
		if len(regions) == 0 || !slices.IsSorted(regions) || len(slices.Compact(slices.Clone(regions))) != len(regions) {
			t.Fatalf("regions %v: want a sorted list of distinct codes", regions)
		}
		for _, r := range regions {
			if got, ok := ps.Resolve(r); !contract.ValidRegionCode(string(r)) || !ok || got != r {
				t.Fatalf("region %q resolves to %q, %v", r, got, ok)
			}
			for _, c := range claims {
				c.InsuredRegion, c.TreatmentRegion = r, "110105"
				res, err := ps.Settle(c)
				if err != nil {
					t.Fatalf("region %s: an accepted policy cannot settle an ordinary claim: %v", r, err)
				}
				checkResult(t, ps, c, res)
			}
		}
	})
}

// checkLoadError: every problem of a refused policy file says where it is.
func checkLoadError(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var fe *FieldError
		switch {
		case errors.As(e, &fe):
			if fe.Msg == "" {
				t.Fatalf("field error without a message: %+v", fe)
			}
		case len(errs) == 1 && strings.HasPrefix(e.Error(), "settlement: parse policies: "):
		default:
			t.Fatalf("%q is neither a *FieldError nor a parse error", e)
		}
	}
}
