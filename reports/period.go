package reports

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// period is a half-open span of whole days [Start, End) in the schedule's
// zone, with its label.
type period struct {
	Start, End time.Time
	Label      string // e.g. 2025年12月, 2025年第4季度, 2025年
	Key        string // file-name form: 2025-12, 2025Q4, 2025
}

func (p period) scope(districts string) scope {
	return scope{Districts: districts, From: p.Start.Format(time.DateOnly), To: p.End.Format(time.DateOnly)}
}

// monthBefore is the calendar month before the one holding t.
func monthBefore(t time.Time) period {
	end := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	start := end.AddDate(0, -1, 0)
	return period{start, end, fmt.Sprintf("%d年%d月", start.Year(), start.Month()), start.Format("2006-01")}
}

// quarterBefore is the calendar quarter before the one holding t.
func quarterBefore(t time.Time) period {
	q := (int(t.Month()) - 1) / 3
	end := time.Date(t.Year(), time.Month(3*q+1), 1, 0, 0, 0, 0, t.Location())
	return quarterFrom(end.AddDate(0, -3, 0))
}

func quarterFrom(start time.Time) period {
	q := (int(start.Month())-1)/3 + 1
	return period{start, start.AddDate(0, 3, 0), fmt.Sprintf("%d年第%d季度", start.Year(), q), fmt.Sprintf("%dQ%d", start.Year(), q)}
}

var quarterPattern = regexp.MustCompile(`^(\d{4})-?Q([1-4])$`)

// parseQuarter reads a quarter written 2025Q4 or 2025-Q4.
func parseQuarter(s string, loc *time.Location) (period, error) {
	m := quarterPattern.FindStringSubmatch(s)
	if m == nil {
		return period{}, fmt.Errorf("quarter %q: want YYYYQn, e.g. 2025Q4", s)
	}
	y, _ := strconv.Atoi(m[1])
	q, _ := strconv.Atoi(m[2])
	return quarterFrom(time.Date(y, time.Month(3*q-2), 1, 0, 0, 0, 0, loc)), nil
}

// yearBefore is the calendar year before the one holding t.
func yearBefore(t time.Time) period {
	start := time.Date(t.Year()-1, 1, 1, 0, 0, 0, 0, t.Location())
	return period{start, start.AddDate(1, 0, 0), fmt.Sprintf("%d年", start.Year()), strconv.Itoa(start.Year())}
}

// months lists the n months (YYYY-MM) ending with the one starting at last.
func months(last time.Time, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = last.AddDate(0, i-n+1, 0).Format("2006-01")
	}
	return out
}
