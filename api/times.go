package api

import (
	"time"

	"github.com/medaudit/medaudit/internal/glossary"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

// The API writes instants in Asia/Shanghai (RFC 3339 with +08:00), like
// every time a person reads; these put the listings' times there.

func cstPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := glossary.CST(*t)
	return &c
}

// cstIngestRuns puts ingest runs' times in Asia/Shanghai.
func cstIngestRuns(runs []pipeline.Run) {
	for i := range runs {
		runs[i].StartedAt, runs[i].FinishedAt = glossary.CST(runs[i].StartedAt), glossary.CST(runs[i].FinishedAt)
	}
}

// cstReportRuns puts report runs' times in Asia/Shanghai.
func cstReportRuns(runs []reports.Run) {
	for i := range runs {
		runs[i].ScheduledFor, runs[i].StartedAt = glossary.CST(runs[i].ScheduledFor), glossary.CST(runs[i].StartedAt)
		runs[i].FinishedAt = cstPtr(runs[i].FinishedAt)
	}
}
