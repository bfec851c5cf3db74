package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/detectors"
)

// institutionRanking answers GET /api/v1/institutions/ranking?limit=: the
// institutions of the user's districts in inspection-targeting order
// (专项检查/飞行检查选点), each with its expected recovery, flag density
// against its peers, exposure and the reasons in words.
func (s *Server) institutionRanking(c *gin.Context) {
	limit, err := intQuery(c, "limit", 50, 1, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	all, err := detectors.RankInstitutions(c.Request.Context(), s.db.DB)
	if err != nil {
		s.fail(c, err)
		return
	}
	u := currentUser(c)
	out := []detectors.InstitutionRank{}
	for _, r := range all {
		if len(out) < limit && u.Sees(r.Region) {
			out = append(out, r)
		}
	}
	c.JSON(http.StatusOK, gin.H{"institutions": out})
}
