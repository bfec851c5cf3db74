package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/medaudit/medaudit/casebook"
)

// Operations the scheduler runs next to the reports, recorded as runs like
// them (a JSON summary is the run's file).
const (
	// OverdueEscalation records an "overdue" event, once per deadline, for
	// every case past its due date (see casebook.EscalateOverdue).
	OverdueEscalation Kind = "overdue_escalation"
	// NightlyBackup takes an online backup into the backup folder as
	// nightly-<scheduled time> and keeps the newest Keep of them.
	NightlyBackup Kind = "backup"
)

// BackupFunc takes a backup of the database into the new folder out.
type BackupFunc func(ctx context.Context, out string) (any, error)

// UseBackups sets where backup jobs write and what takes the backup.
func (r *Runner) UseBackups(dir string, fn BackupFunc) { r.backupDir, r.backup = dir, fn }

// nightlyPrefix names the folders of scheduled backups (retention touches
// only these).
const nightlyPrefix = "nightly-"

func (r *Runner) runTask(ctx context.Context, job Job, scheduled time.Time) ([]File, error) {
	var summary any
	switch job.Kind {
	case OverdueEscalation:
		n, err := casebook.NewStore(r.db, r.now).EscalateOverdue(ctx, "system:scheduler")
		if err != nil {
			return nil, err
		}
		summary = map[string]any{"escalated": n}
	case NightlyBackup:
		if r.backup == nil {
			return nil, errors.New("no backup folder: the server's --backup-dir is not set")
		}
		out := filepath.Join(r.backupDir, nightlyPrefix+scheduled.UTC().Format("20060102T1504Z"))
		if _, err := os.Stat(filepath.Join(out, "manifest.json")); err == nil {
			summary = map[string]any{"out": out, "note": "already taken"}
			break
		}
		sum, err := r.backup(ctx, out)
		if err != nil {
			return nil, err
		}
		removed, err := prune(r.backupDir, job.Keep)
		if err != nil {
			return nil, fmt.Errorf("retention: %w", err)
		}
		summary = map[string]any{"out": out, "backup": sum, "removed": removed}
	default:
		return nil, fmt.Errorf("unknown job kind %q", job.Kind)
	}
	body, err := json.MarshalIndent(summary, "", "  ")
	if err != nil {
		return nil, err
	}
	return []File{newFile(string(job.Kind)+".json", MediaJSON, body)}, nil
}

// prune removes the oldest complete scheduled backups in dir beyond keep
// (folder names sort by time) and any partial one left by a crash before
// them, and returns the names removed.
func prune(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), nightlyPrefix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var complete []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n, "manifest.json")); err == nil {
			complete = append(complete, n)
		}
	}
	if len(complete) <= keep {
		return nil, nil
	}
	cut := complete[len(complete)-keep] // the oldest backup kept
	var removed []string
	for _, n := range names {
		if n >= cut {
			break
		}
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return removed, err
		}
		removed = append(removed, n)
		slog.Info("old backup removed", "folder", n)
	}
	return removed, nil
}

// overdueList is the table of cases past their due date in the districts
// (all when none are given), with when the scheduler escalated them.
func overdueList(ctx context.Context, b builder, districts []string) (*table, error) {
	t := &table{Sheet: "逾期案件", Columns: []column{
		{Head: "案件编号 Case", Width: 20}, {Head: "机构代码 Org code", Width: 16}, {Head: "辖区 District", Width: 10},
		{Head: "状态 State", Width: 16}, {Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 18},
		{Head: "截止日期 Due", Width: 12}, {Head: "逾期天数 Days overdue", Kind: intCol}, {Head: "升级时间 Escalated", Width: 18},
	}}
	var ds []string
	if len(districts) > 0 {
		ds = districts
	}
	list, err := casebook.NewStore(b.db, b.now).Overdue(ctx, ds)
	if err != nil {
		return nil, err
	}
	loc := shanghai
	for _, o := range list {
		escalated := "—"
		if o.NoticedAt != nil {
			escalated = o.NoticedAt.In(loc).Format("2006-01-02 15:04")
		}
		t.add(o.ID, o.OrgCode, o.District, stateName(string(o.State)), money(o.AmountAtRisk), o.DueAt.In(loc).Format(time.DateOnly),
			itoa(int64(o.DaysOverdue)), escalated)
	}
	return t, nil
}
