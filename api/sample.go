package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/internal/glossary"
)

// sampleInput draws an institution case's recovery sample.
type sampleInput struct {
	Size int    `json:"size"` // claims to draw, 2..1000
	Seed uint64 `json:"seed"` // 0: a random seed, stored with the sample
}

// findingsInput is the over-payment found in each sampled claim (yuan; a
// claim left out counts as 0).
type findingsInput struct {
	Found map[string]string `json:"found"`
}

// drawSample answers POST /api/v1/cases/{id}/sample: a seeded stratified
// sample of the institution's claims for record pull.
func (s *Server) drawSample(c *gin.Context) {
	var in sampleInput
	s.sampleStep(c, &in, func() caseStep { return caseStep{Action: stepSample, Size: in.Size, Seed: in.Seed} })
}

// sampleFindings answers POST /api/v1/cases/{id}/sample/findings: the
// findings per sampled claim and the extrapolated over-payment with its 90 %
// interval.
func (s *Server) sampleFindings(c *gin.Context) {
	var in findingsInput
	s.sampleStep(c, &in, func() caseStep { return caseStep{Action: stepFindings, Found: in.Found} })
}

func (s *Server) sampleStep(c *gin.Context, in any, step func() caseStep) {
	var sample *casebook.CaseSample
	s.caseActionWith(c, in, func(k casebook.Case, actor, role string) error {
		if err := s.takeStep(c.Request.Context(), k, actor, role, step()); err != nil {
			return err
		}
		var err error
		sample, err = s.cases.SampleOf(c.Request.Context(), k.ID)
		return err
	}, func(k casebook.Case) {
		c.JSON(http.StatusOK, gin.H{"case": k, "sample": sample, "method": glossary.SampleMethod.En})
	})
}
