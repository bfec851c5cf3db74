package api

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// queueItem is a queue row as a reviewer sees it: what the case is about,
// never the score.
type queueItem struct {
	CaseID          string       `json:"case_id"`
	SubjectType     string       `json:"subject_type"`
	SubjectID       string       `json:"subject_id"`
	OrgCode         string       `json:"org_code"`
	InstitutionName string       `json:"institution_name"`
	Specialty       string       `json:"specialty"`
	SpecialtyName   string       `json:"specialty_name"`
	Families        []string     `json:"families"`
	FamilyNames     []string     `json:"family_names"`
	FlagTitle       string       `json:"flag_title"` // the title of the case's strongest flag
	AdmittedAt      *time.Time   `json:"admitted_at,omitempty"`
	DischargedAt    *time.Time   `json:"discharged_at,omitempty"`
	AmountAtRisk    contract.Fen `json:"amount_at_risk"`
	State           string       `json:"state"`
	DueAt           *time.Time   `json:"due_at,omitempty"`
	Round           int          `json:"round"` // 1 independent review, 2 tie-breaker
}

// queueProgress is how far a reviewer is through the cases assigned to them.
type queueProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

func (s *Server) queue(c *gin.Context) ([]queueItem, queueProgress, error) {
	u := currentUser(c)
	ctx := c.Request.Context()
	var prog queueProgress
	cs, err := s.cases.Queue(ctx, u.ExpertID)
	if err != nil {
		return nil, prog, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE submitted_at IS NOT NULL), count(*) FROM assignments WHERE expert_id = ?`,
		u.ExpertID).Scan(&prog.Done, &prog.Total); err != nil {
		return nil, prog, err
	}
	l := glossary.Lang(lang(c))
	out := make([]queueItem, 0, len(cs))
	for _, k := range cs {
		q := queueItem{CaseID: k.ID, SubjectType: k.SubjectType, SubjectID: k.SubjectID, OrgCode: k.OrgCode, Specialty: k.Specialty,
			SpecialtyName: glossary.Word(k.Specialty, l), Families: k.Families, State: string(k.State), DueAt: k.DueAt,
			AmountAtRisk: k.AmountAtRisk}
		for _, f := range k.Families {
			q.FamilyNames = append(q.FamilyNames, glossary.Code("family", f, l))
		}
		if err := s.queueDetails(ctx, &q, u.ExpertID); err != nil {
			return nil, prog, err
		}
		out = append(out, q)
	}
	return out, prog, nil
}

// queueDetails adds the institution's name, the strongest flag's title, the
// stay's dates and the reviewer's round.
func (s *Server) queueDetails(ctx context.Context, q *queueItem, expertID string) error {
	var adm, dis sql.NullTime
	err := s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT name FROM institutions WHERE org_code = ?), ''),
		coalesce((SELECT f.evidence->>'title' FROM case_flags cf JOIN flags f USING (flag_id) WHERE cf.case_id = ?
			ORDER BY f.score DESC, f.detector LIMIT 1), ''),
		(SELECT admitted_at FROM settlements WHERE settlement_id = ? AND ? = 'settlement'),
		(SELECT discharged_at FROM settlements WHERE settlement_id = ? AND ? = 'settlement'),
		coalesce((SELECT max(round) FROM assignments WHERE case_id = ? AND expert_id = ?), 1)`,
		q.OrgCode, q.CaseID, q.SubjectID, q.SubjectType, q.SubjectID, q.SubjectType, q.CaseID, expertID).
		Scan(&q.InstitutionName, &q.FlagTitle, &adm, &dis, &q.Round)
	if adm.Valid {
		t := glossary.Local(adm.Time)
		q.AdmittedAt = &t
	}
	if dis.Valid {
		t := glossary.Local(dis.Time)
		q.DischargedAt = &t
	}
	return err
}

func (s *Server) queuePage(c *gin.Context) {
	items, prog, err := s.queue(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, "queue.html", gin.H{"Items": items, "Progress": prog, "Message": c.Query("msg")})
}

func (s *Server) queueJSON(c *gin.Context) {
	items, prog, err := s.queue(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"cases": items, "progress": prog})
}
