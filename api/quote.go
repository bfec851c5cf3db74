package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// quoteLine is one fee line of a quote request; decimals are strings.
type quoteLine struct {
	Class        string `json:"class"`         // A, B or C per the treatment region's catalogue
	Quantity     string `json:"quantity"`      // up to 4 decimals
	UnitPrice    string `json:"unit_price"`    // yuan, up to 4 decimals
	Amount       string `json:"amount"`        // yuan, up to 2 decimals
	SelfPayRatio string `json:"selfpay_ratio"` // class B 先行自付 share, e.g. "0.1000"
	PriceCeiling string `json:"price_ceiling"` // per-unit 最高限价, empty for none
}

// quoteRequest asks what the fund, the account and the patient should pay.
type quoteRequest struct {
	InsuredRegion     string      `json:"insured_region"`
	TreatmentRegion   string      `json:"treatment_region"`
	InsuranceType     string      `json:"insurance_type"`
	Retiree           bool        `json:"retiree"`
	VisitType         string      `json:"visit_type"`
	HospitalLevel     int         `json:"hospital_level"`
	Registration      string      `json:"registration"`
	Emergency         bool        `json:"emergency"`
	NthAdmission      int         `json:"nth_admission"`
	FundUsedYTD       string      `json:"fund_used_ytd"`
	DeductibleUsedYTD string      `json:"deductible_used_ytd"`
	AccountBalance    string      `json:"account_balance"`
	Lines             []quoteLine `json:"lines"`
}

// decimal parses an optional decimal field, naming it on error.
func decimal(field, s string, scale int) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := contract.ParseDecimal(s, scale)
	if err != nil {
		return 0, &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf("%s: %v", field, err)}
	}
	return v, nil
}

func (r quoteRequest) claim() (settlement.Claim, error) {
	c := settlement.Claim{
		InsuredRegion: contract.RegionCode(r.InsuredRegion), TreatmentRegion: contract.RegionCode(r.TreatmentRegion),
		InsuranceType: r.InsuranceType, Retiree: r.Retiree, VisitType: r.VisitType, HospitalLevel: r.HospitalLevel,
		Registration: r.Registration, Emergency: r.Emergency, NthAdmission: r.NthAdmission,
	}
	if !contract.ValidRegionCode(r.InsuredRegion) {
		return c, &Error{Code: CodeInvalid, Field: "insured_region", Message: "insured_region must be a 6-digit region code"}
	}
	var err error
	var v int64
	for _, f := range []struct {
		name string
		s    string
		dst  *contract.Fen
	}{{"fund_used_ytd", r.FundUsedYTD, &c.FundUsedYTD}, {"deductible_used_ytd", r.DeductibleUsedYTD, &c.DeductibleUsedYTD}, {"account_balance", r.AccountBalance, &c.AccountBalance}} {
		if v, err = decimal(f.name, f.s, 2); err != nil {
			return c, err
		}
		*f.dst = contract.Fen(v)
	}
	if len(r.Lines) == 0 {
		return c, &Error{Code: CodeInvalid, Field: "lines", Message: "a quote needs at least one fee line"}
	}
	for i, l := range r.Lines {
		p := fmt.Sprintf("lines[%d].", i)
		ln := settlement.Line{Class: l.Class}
		if l.Class != "A" && l.Class != "B" && l.Class != "C" {
			return c, &Error{Code: CodeInvalid, Field: p + "class", Message: p + "class must be A, B or C"}
		}
		if v, err = decimal(p+"quantity", l.Quantity, 4); err != nil {
			return c, err
		}
		ln.Quantity = contract.Qty(v)
		if v, err = decimal(p+"unit_price", l.UnitPrice, 4); err != nil {
			return c, err
		}
		ln.UnitPrice = contract.Qty(v)
		if v, err = decimal(p+"amount", l.Amount, 2); err != nil {
			return c, err
		}
		ln.Amount = contract.Fen(v)
		if v, err = decimal(p+"selfpay_ratio", l.SelfPayRatio, 4); err != nil {
			return c, err
		}
		ln.SelfPayRatio = int(v)
		if v, err = decimal(p+"price_ceiling", l.PriceCeiling, 4); err != nil {
			return c, err
		}
		ln.PriceCeiling = contract.Qty(v)
		c.Lines = append(c.Lines, ln)
	}
	return c, nil
}

// quote answers POST /api/v1/settlement/quote: the full decomposition under
// the insured region's policy, each step explained in Chinese.
func (s *Server) quote(c *gin.Context) {
	var req quoteRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Message: "the body must be a JSON quote request"})
		return
	}
	claim, err := req.claim()
	if err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.policies.Settle(claim)
	switch {
	case errors.Is(err, settlement.ErrNoPolicy):
		s.fail(c, &Error{Code: CodeInvalid, Field: "insured_region", Message: "no policy covers insured_region " + req.InsuredRegion, err: err})
		return
	case errors.Is(err, settlement.ErrInvalidClaim):
		s.fail(c, &Error{Code: CodeInvalid, Message: err.Error(), err: err})
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"quote": newQuoteResponse(res)})
}

// quoteStep is one explained step of a quote.
type quoteStep struct {
	Name   string       `json:"name"`
	Label  string       `json:"label"`
	Amount contract.Fen `json:"amount"`
	Detail string       `json:"detail"`
}

// quoteResponse is the decomposition of a quote, money in yuan strings.
type quoteResponse struct {
	Total      contract.Fen `json:"total"`
	FullOwnPay contract.Fen `json:"full_own_pay"`
	OverCeil   contract.Fen `json:"over_ceiling"`
	PreSelfPay contract.Fen `json:"pre_self_pay"`
	InScope    contract.Fen `json:"in_scope"`
	Deductible contract.Fen `json:"deductible"`
	Fund       contract.Fen `json:"fund"`
	Account    contract.Fen `json:"account"`
	Cash       contract.Fen `json:"cash"`
	Ratio      string       `json:"ratio"` // e.g. "55.00%"
	CapHit     bool         `json:"cap_hit"`
	Steps      []quoteStep  `json:"steps"`
}

func newQuoteResponse(r settlement.Result) quoteResponse {
	q := quoteResponse{Total: r.Total, FullOwnPay: r.FullOwnPay, OverCeil: r.OverCeiling, PreSelfPay: r.PreSelfPay,
		InScope: r.InScope, Deductible: r.Deductible, Fund: r.Fund, Account: r.Account, Cash: r.Cash,
		Ratio: contract.FormatDecimal(int64(r.Ratio), 2) + "%", CapHit: r.CapHit}
	for _, st := range r.Steps {
		q.Steps = append(q.Steps, quoteStep{Name: st.Name, Label: st.Label, Amount: st.Amount, Detail: st.Detail})
	}
	return q
}
