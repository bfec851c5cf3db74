package pipeline

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DBConfig configures an opened database.
type DBConfig struct {
	// MemoryLimit caps DuckDB's buffer memory (e.g. "2GB"); larger work spills
	// to TempDir. Empty keeps DuckDB's default (80 % of RAM).
	MemoryLimit string
	// Threads is DuckDB's worker thread count; 0 keeps the default (all cores).
	Threads int
	// TempDir is where DuckDB spills; empty keeps the default (<db>.tmp).
	TempDir string
	// ReadOnly opens the file with access_mode=READ_ONLY (notebooks, reports).
	ReadOnly bool
}

// DefaultDBConfig bounds memory so that ingesting a file of any size keeps a
// flat resident set: 2 GB of buffers on the 24 GB machines we run on.
func DefaultDBConfig() DBConfig { return DBConfig{MemoryLimit: "2GB"} }

// DB is an opened, migrated DuckDB database.
type DB struct {
	*sql.DB
	connector *duckdb.Connector
	path      string
}

// The process's allocator settings, made once, at the first Open: DuckDB's
// allocator returns the pages it frees lazily at once (setMuzzyDecay 0; its
// own default keeps them 1 s, counted in the resident set). At 1 M persons
// the scan peaked at 1,324-1,341 MiB over four runs against 1,384-1,471 MiB
// (the goal: 1.5 × 10⁹ B, 1,430 MiB), in 93.0-100.7 s against 87.8-101.2 s;
// at 10.0 M settlements 304.3 and 310.8 s, 1,580 and 1,653 MiB, against 308.8
// and 314.4 s, 1,677 and 1,675 MiB.
var setAllocator = sync.OnceValue(func() error { return setMuzzyDecay(0) })

// Open opens (creating if needed) the DuckDB file at path, or an in-memory
// database when path is "" or ":memory:", and applies pending migrations
// unless the database is read-only.
func Open(ctx context.Context, path string, cfg DBConfig) (*DB, error) {
	dsn := path
	if dsn == ":memory:" {
		dsn = ""
	}
	if cfg.ReadOnly {
		dsn += "?access_mode=READ_ONLY"
	}
	var settings []string
	if cfg.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit="+quoteLiteral(cfg.MemoryLimit))
	}
	if cfg.Threads > 0 {
		settings = append(settings, "SET threads="+strconv.Itoa(cfg.Threads))
	}
	if cfg.TempDir != "" {
		settings = append(settings, "SET temp_directory="+quoteLiteral(cfg.TempDir))
	}
	settings = append(settings, "SET preserve_insertion_order=false", "SET TimeZone='Asia/Shanghai'")
	// DuckDB's allocator (jemalloc) keeps what a query freed for the next
	// one unless told otherwise: with its defaults a scan at 1 M persons
	// peaked at 2.04 GiB under a 1.2 GB (1.12 GiB) buffer limit. Purging freed
	// pages in the background and flushing a thread's cache after any task
	// that allocated 16 MB brought the same scan's peak to 1.70 GiB, in the
	// same time.
	settings = append(settings, "SET allocator_background_threads=true", "SET allocator_flush_threshold='16MB'")
	if err := setAllocator(); err != nil {
		return nil, err
	}
	connector, err := duckdb.NewConnector(dsn, func(execer driver.ExecerContext) error {
		for _, s := range settings {
			if _, err := execer.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open duckdb %q: %w", path, err)
	}
	db := &DB{DB: sql.OpenDB(connector), connector: connector, path: path}
	// Keep connections for concurrent requests: opening one runs the
	// settings above, which costs more than a small query.
	db.SetMaxIdleConns(64)
	db.SetConnMaxIdleTime(10 * time.Minute)
	if !cfg.ReadOnly {
		if err := db.migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Close closes the database and its connector.
func (db *DB) Close() error {
	err := db.DB.Close()
	if cerr := db.connector.Close(); err == nil {
		err = cerr
	}
	return err
}

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", base)
		}
		body, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: base, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// migrate applies each migration not yet recorded in schema_migrations, each
// in its own transaction together with its record.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		return err
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.Version, m.Name); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
