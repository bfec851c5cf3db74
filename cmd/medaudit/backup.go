package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/pipeline"
)

// A backup is a folder with a compact copy of the database (backupFile) and
// a manifest written last: its presence marks a complete backup.
const (
	backupFormat   = "medaudit-backup/1"
	backupFile     = "medaudit.duckdb"
	backupManifest = "manifest.json"
	backupCatalog  = "medaudit_backup"
)

// manifest describes a backup: the file's digest, each table's row count
// and content checksum, and the database's invariants when it was taken.
type manifest struct {
	Format    string     `json:"format"`
	CreatedAt time.Time  `json:"created_at"`
	Source    string     `json:"source"`         // path of the database backed up
	DuckDB    string     `json:"duckdb_version"` // version that wrote the file
	File      string     `json:"file"`
	Bytes     int64      `json:"bytes"`
	SHA256    string     `json:"sha256"` // hex digest of File
	Tables    []tableSum `json:"tables"`
	Integrity integrity  `json:"integrity"`
	Rows      int64      `json:"rows"` // sum of Tables' rows
	Seconds   float64    `json:"seconds"`
}

// tableSum is one table's row count and an order-independent checksum of
// its rows (the sum of DuckDB's row hashes).
type tableSum struct {
	Name     string `json:"name"` // schema.table
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
}

// tableDiff is a table whose restored content differs from the manifest.
type tableDiff struct {
	Name      string
	Want, Got *tableSum
}

func newBackupCmd() *cobra.Command {
	var (
		db     dbFlags
		out    string
		remote remoteFlags
		name   string
	)
	cmd := &cobra.Command{
		Use:   "backup --db FILE --out DIR | --server URL [--name NAME]",
		Short: "Copy the database into DIR with a manifest of row counts, checksums and invariants",
		Long: `Opens the database read-only, copies every table, view and macro into a
fresh compact DuckDB file DIR/` + backupFile + ` in one transaction, checks that each
table's row count and row checksum in the copy equal the source's, and
writes DIR/` + backupManifest + ` last.

A running server holds the file: with --server URL (and an admin's API token
in $` + tokenEnv + `) the server takes the backup online, into its --backup-dir
folder NAME (default: medaudit-<UTC time>), while it keeps serving reads and
writes; the copy is one consistent snapshot and its manifest is the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if remote.server != "" {
				body := map[string]string{}
				if name != "" {
					body["name"] = name
				}
				res, err := remote.call(cmd.Context(), "POST", "/api/v1/backups", body)
				if err != nil {
					return err
				}
				return printJSON(cmd, res)
			}
			if out == "" {
				return errors.New("--out DIR is required")
			}
			return db.with(cmd, true, func(d *pipeline.DB) error {
				m, err := backup(cmd.Context(), d, db.path, out)
				if err != nil {
					return err
				}
				sum := m.summary()
				sum["out"] = out
				return printJSON(cmd, sum)
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "backup folder (created; must not hold a backup already)")
	cmd.Flags().StringVar(&name, "name", "", "with --server: the backup's folder name under the server's --backup-dir")
	remote.register(cmd)
	return cmd
}

// onlineBackup is the server's BackupFunc: backup into out, summarised.
func onlineBackup(d *pipeline.DB, source string) func(ctx context.Context, out string) (any, error) {
	return func(ctx context.Context, out string) (any, error) {
		m, err := backup(ctx, d, source, out)
		if err != nil {
			return nil, err
		}
		return m.summary(), nil
	}
}

// summary is what the backup commands print.
func (m manifest) summary() map[string]any {
	return map[string]any{"bytes": m.Bytes, "sha256": m.SHA256, "tables": len(m.Tables), "rows": m.Rows,
		"events": m.Integrity.Events, "trail": m.Integrity.Trail, "seconds": m.Seconds}
}

func newRestoreCmd() *cobra.Command {
	var (
		db    dbFlags
		from  string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "restore --from DIR --db FILE [--force]",
		Short: "Restore a backup to FILE and verify it against its manifest",
		Long: `Checks the backup file's SHA-256 against the manifest, copies it next to
FILE, opens the copy and verifies it: every table's row count and checksum,
the audit trail's hash chain, the ledger identity of every committed batch
and the other invariants of 'medaudit check' must equal the manifest's.
Only then does the copy replace FILE (an existing FILE needs --force and
must not be in use). A failed verification leaves FILE as it was.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return errors.New("--from DIR is required")
			}
			start := time.Now()
			m, err := restore(cmd.Context(), &db, from, force)
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"db": db.path, "verified": true, "tables": len(m.Tables), "rows": m.Rows,
				"events": m.Integrity.Events, "trail": m.Integrity.Trail, "committed_runs": m.Integrity.Runs,
				"rows_read": m.Integrity.RowsRead, "seconds": time.Since(start).Seconds()})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "backup folder written by medaudit backup")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing database file")
	return cmd
}

// backup copies d into the folder out and writes its manifest.
func backup(ctx context.Context, d *pipeline.DB, source, out string) (manifest, error) {
	start := time.Now()
	m := manifest{Format: backupFormat, CreatedAt: start.UTC(), Source: source, File: backupFile}
	if _, err := os.Stat(filepath.Join(out, backupManifest)); err == nil {
		return m, fmt.Errorf("%s already holds a backup: choose a new folder", out)
	}
	if err := os.MkdirAll(out, 0o750); err != nil {
		return m, err
	}
	partial := filepath.Join(out, backupFile+".partial")
	for _, f := range []string{partial, partial + ".wal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return m, err
		}
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return m, err
	}
	defer conn.Close()
	if err := copyDatabase(ctx, conn, partial, &m); err != nil {
		os.Remove(partial)
		return m, err
	}
	// The invariants are those of the copy: the snapshot the copy was
	// taken in, whatever a running server has written since.
	if m.Integrity, err = copyIntegrity(ctx, partial); err != nil {
		return m, err
	}
	if err := conn.QueryRowContext(ctx, `SELECT version()`).Scan(&m.DuckDB); err != nil {
		return m, err
	}
	if m.Bytes, m.SHA256, err = syncAndDigest(partial); err != nil {
		return m, err
	}
	if err := os.Rename(partial, filepath.Join(out, backupFile)); err != nil {
		return m, err
	}
	m.Seconds = time.Since(start).Seconds()
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	tmp := filepath.Join(out, backupManifest+".partial")
	if err := os.WriteFile(tmp, body, 0o640); err != nil {
		return m, err
	}
	if _, _, err := syncAndDigest(tmp); err != nil {
		return m, err
	}
	if err := os.Rename(tmp, filepath.Join(out, backupManifest)); err != nil {
		return m, err
	}
	return m, syncDir(out)
}

// copyIntegrity checks the invariants of the copy at path.
func copyIntegrity(ctx context.Context, path string) (integrity, error) {
	c, err := pipeline.Open(ctx, path, pipeline.DBConfig{Threads: 1, ReadOnly: true})
	if err != nil {
		return integrity{}, fmt.Errorf("open the copy: %w", err)
	}
	defer c.Close()
	return checkIntegrity(ctx, c.DB)
}

// copyDatabase copies the database conn reads into a new file at path with
// COPY FROM DATABASE, in one transaction with the table sums of both sides,
// which must be equal. Insertion order is kept so that the audit trail's
// storage order survives.
func copyDatabase(ctx context.Context, conn *sql.Conn, path string, m *manifest) error {
	var src string
	if err := conn.QueryRowContext(ctx, `SELECT current_database()`).Scan(&src); err != nil {
		return err
	}
	for _, q := range []string{
		`SET preserve_insertion_order = true`,
		fmt.Sprintf(`ATTACH %s AS %s (READ_WRITE)`, sqlString(path), backupCatalog),
		`BEGIN TRANSACTION`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("backup: %s: %w", q, err)
		}
	}
	detach := func() { conn.ExecContext(context.WithoutCancel(ctx), `DETACH `+backupCatalog) }
	fail := func(err error) error {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		detach()
		return err
	}
	want, err := tableSums(ctx, conn, src)
	if err != nil {
		return fail(err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`COPY FROM DATABASE %q TO %s`, src, backupCatalog)); err != nil {
		return fail(fmt.Errorf("backup: copy the database: %w", err))
	}
	got, err := tableSums(ctx, conn, backupCatalog)
	if err != nil {
		return fail(err)
	}
	if diffs := compareSums(want, got); len(diffs) > 0 {
		return fail(fmt.Errorf("backup: the copy differs from the database in %s", describeDiffs(diffs)))
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fail(err)
	}
	if _, err := conn.ExecContext(ctx, `CHECKPOINT `+backupCatalog); err != nil {
		detach()
		return err
	}
	if _, err := conn.ExecContext(ctx, `DETACH `+backupCatalog); err != nil {
		return err
	}
	m.Tables = want
	for _, t := range want {
		m.Rows += t.Rows
	}
	return nil
}

// restore verifies the backup in dir and puts it in place of db.path.
func restore(ctx context.Context, db *dbFlags, dir string, force bool) (manifest, error) {
	var m manifest
	body, err := os.ReadFile(filepath.Join(dir, backupManifest))
	if err != nil {
		return m, fmt.Errorf("%s is not a complete backup: %w", dir, err)
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Format != backupFormat {
		return m, fmt.Errorf("%s: not a %s manifest (%v)", filepath.Join(dir, backupManifest), backupFormat, err)
	}
	src := filepath.Join(dir, filepath.Base(m.File))
	if n, sum, err := digest(src); err != nil {
		return m, err
	} else if sum != m.SHA256 || n != m.Bytes {
		return m, fmt.Errorf("backup %s is damaged: %s has %d bytes with SHA-256 %s, the manifest records %d bytes with %s", dir, src, n, sum, m.Bytes, m.SHA256)
	}
	if _, err := os.Stat(db.path); err == nil {
		if !force {
			return m, fmt.Errorf("%s exists: restore refuses to overwrite a database without --force", db.path)
		}
		if err := notInUse(ctx, db); err != nil {
			return m, err
		}
	}
	tmp := db.path + ".restoring"
	for _, f := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return m, err
		}
	}
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return m, err
	}
	if err := verifyRestored(ctx, db, tmp, m); err != nil {
		os.Remove(tmp)
		return m, err
	}
	// A write-ahead log left by the replaced database must not be replayed
	// onto the restored one.
	if err := os.Remove(db.path + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(tmp)
		return m, err
	}
	if err := os.Rename(tmp, db.path); err != nil {
		return m, err
	}
	return m, syncDir(filepath.Dir(db.path))
}

// notInUse refuses to replace a database another process holds. A file
// DuckDB cannot open for another reason (damaged: the reason to restore)
// may be replaced.
func notInUse(ctx context.Context, db *dbFlags) error {
	d, err := db.open(ctx, true)
	var inUse *inUseError
	switch {
	case errors.As(err, &inUse):
		return err
	case err != nil:
		slog.Warn("the database to replace does not open", "db", db.path, "err", err)
		return nil
	}
	return d.Close()
}

// verifyRestored opens the restored copy read-only and compares its tables
// and invariants with the manifest.
func verifyRestored(ctx context.Context, db *dbFlags, path string, m manifest) error {
	d, err := pipeline.Open(ctx, path, pipeline.DBConfig{MemoryLimit: db.memoryLimit, Threads: db.threads, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("the restored database does not open: %w", err)
	}
	defer d.Close()
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var catalog string
	if err := conn.QueryRowContext(ctx, `SELECT current_database()`).Scan(&catalog); err != nil {
		return err
	}
	got, err := tableSums(ctx, conn, catalog)
	if err != nil {
		return err
	}
	if diffs := compareSums(m.Tables, got); len(diffs) > 0 {
		return fmt.Errorf("restore verification failed: %s differ from the manifest", describeDiffs(diffs))
	}
	in, err := checkIntegrity(ctx, d.DB)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(in, m.Integrity) {
		want, _ := json.Marshal(m.Integrity)
		have, _ := json.Marshal(in)
		return fmt.Errorf("restore verification failed: the invariants differ from the manifest's: restored %s, backed up %s", have, want)
	}
	if err := in.err(); err != nil {
		slog.Warn("the backup was taken of a database whose invariants did not hold; restored as it was", "err", err)
	}
	return nil
}

// tableSums counts and checksums every table of catalog.
func tableSums(ctx context.Context, conn *sql.Conn, catalog string) ([]tableSum, error) {
	rows, err := conn.QueryContext(ctx, `SELECT schema_name, table_name FROM duckdb_tables()
		WHERE database_name = ? AND NOT temporary ORDER BY schema_name, table_name`, catalog)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", catalog, err)
	}
	var names [][2]string
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, [2]string{s, t})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tableSum, 0, len(names))
	for _, n := range names {
		ts := tableSum{Name: n[0] + "." + n[1]}
		// The alias names the row as a struct; hash covers every column.
		q := fmt.Sprintf(`SELECT count(*), coalesce(sum(hash(medaudit_row)::HUGEINT), 0)::VARCHAR FROM %q.%q.%q AS medaudit_row`, catalog, n[0], n[1])
		if err := conn.QueryRowContext(ctx, q).Scan(&ts.Rows, &ts.Checksum); err != nil {
			return nil, fmt.Errorf("checksum %s: %w", ts.Name, err)
		}
		out = append(out, ts)
	}
	return out, nil
}

// compareSums lists the tables whose count or checksum differ, or that one
// side lacks.
func compareSums(want, got []tableSum) []tableDiff {
	index := map[string]*tableSum{}
	for i := range got {
		index[got[i].Name] = &got[i]
	}
	var diffs []tableDiff
	for i := range want {
		g, ok := index[want[i].Name]
		delete(index, want[i].Name)
		if !ok || *g != want[i] {
			diffs = append(diffs, tableDiff{Name: want[i].Name, Want: &want[i], Got: g})
		}
	}
	for name, g := range index {
		diffs = append(diffs, tableDiff{Name: name, Got: g})
	}
	return diffs
}

func describeDiffs(diffs []tableDiff) string {
	s := ""
	for i, d := range diffs {
		if i > 0 {
			s += "; "
		}
		switch {
		case d.Got == nil:
			s += fmt.Sprintf("table %s (missing; %d rows expected)", d.Name, d.Want.Rows)
		case d.Want == nil:
			s += fmt.Sprintf("table %s (not in the manifest)", d.Name)
		default:
			s += fmt.Sprintf("table %s (%d rows, checksum %s; expected %d rows, checksum %s)", d.Name, d.Got.Rows, d.Got.Checksum, d.Want.Rows, d.Want.Checksum)
		}
	}
	return s
}

// copyFile copies src to a new file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Sync(), out.Close())
}

// syncAndDigest flushes path to disk and returns its size and SHA-256.
func syncAndDigest(path string) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, "", err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return 0, "", err
	}
	return digest(path)
}

// digest returns the size and hex SHA-256 of a file.
func digest(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// syncDir makes renames in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
