package api

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/pipeline"
)

// UploadLimits bound what one uploaded batch may hold, after decompression,
// so an archive bomb stops at the limit instead of filling the disk.
type UploadLimits struct {
	MaxBytes int64 // total bytes of the batch's files, decompressed
	MaxFiles int   // entries in the upload, counting ignored ones
}

// DefaultUploadLimits allow a month of a large district's claims.
func DefaultUploadLimits() UploadLimits {
	return UploadLimits{MaxBytes: 16 << 30, MaxFiles: 64}
}

var errTooLarge = &Error{Code: CodeTooLarge, Message: "the batch is larger than the upload limit"}

// staging receives the files of one upload into a fresh folder, accepting
// only contract files (institutions.csv, settlements.parquet, …) at the top
// level or under one folder, each once, as regular files.
type staging struct {
	dir     string
	limits  UploadLimits
	written int64
	entries int
	seen    map[string]bool
	ignored []string
	quota   *quota // every byte written is charged to it first
	charged int64  // bytes charged, released when the folder is removed
}

// file is where staging writes: charged to the quota.
func (st *staging) file(f *os.File) io.Writer {
	return quotaWriter{w: f, q: st.quota, charged: &st.charged}
}

// add stores one entry of the upload named name (a path inside an archive
// or a multipart file name).
func (st *staging) add(name string, r io.Reader) error {
	st.entries++
	if st.entries > st.limits.MaxFiles {
		return &Error{Code: CodeInvalid, Field: "files", Message: fmt.Sprintf("an upload may hold at most %d files", st.limits.MaxFiles)}
	}
	base, err := entryBase(name)
	if err != nil {
		return err
	}
	if !pipeline.IsBatchFile(base) {
		st.ignored = append(st.ignored, base)
		return nil
	}
	if st.seen[base] {
		return &Error{Code: CodeInvalid, Field: "files", Message: base + " appears twice in the upload"}
	}
	st.seen[base] = true
	f, err := os.OpenFile(path.Join(st.dir, base), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(st.file(f), io.LimitReader(r, st.limits.MaxBytes-st.written+1))
	st.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errQuota) {
		return errQuota
	}
	if err != nil {
		return &Error{Code: CodeInvalid, Field: "files", Message: "could not read " + base + " from the upload: " + safeErr(err)}
	}
	if st.written > st.limits.MaxBytes {
		return errTooLarge
	}
	return nil
}

// entryBase checks an archive entry's path and returns its file name. It
// refuses absolute paths, "..", backslashes and more than one folder, so
// nothing is ever written outside the staging folder.
func entryBase(name string) (string, error) {
	bad := func(why string) error {
		return &Error{Code: CodeInvalid, Field: "files", Message: fmt.Sprintf("refused archive entry %q: %s", truncate(name, 80), why)}
	}
	switch {
	case name == "" || strings.ContainsRune(name, 0):
		return "", bad("empty or NUL in the name")
	case strings.Contains(name, `\`):
		return "", bad("backslash in the path")
	case strings.HasPrefix(name, "/"):
		return "", bad("absolute path")
	}
	parts := strings.Split(strings.TrimPrefix(name, "./"), "/")
	for _, p := range parts {
		if p == ".." {
			return "", bad("path leaves the batch folder")
		}
	}
	if len(parts) > 2 {
		return "", bad("a batch is flat: files at the top or in one folder")
	}
	return parts[len(parts)-1], nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// safeErr is the part of an archive or I/O error fit to show: the Go error
// text of the decoders, which never holds file content.
func safeErr(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the upload ended early"
	}
	return err.Error()
}

// receive stores the request body's batch files in dir: multipart/form-data
// (one part per file), a tar (optionally gzip-compressed) or a zip.
func (st *staging) receive(c *gin.Context) error {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, st.limits.MaxBytes+1<<20)
	mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "multipart/form-data":
		return st.multipart(body, params["boundary"])
	case "application/x-tar", "application/tar":
		return st.tar(body)
	case "application/gzip", "application/x-gzip", "application/x-tar+gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return &Error{Code: CodeInvalid, Field: "body", Message: "not a gzip stream: " + safeErr(err)}
		}
		defer zr.Close()
		return st.tar(zr)
	case "application/zip":
		return st.zip(body)
	}
	return &Error{Code: CodeUnsupported, Field: "Content-Type", Message: "send the batch as multipart/form-data, application/x-tar, application/gzip (tar.gz) or application/zip"}
}

func (st *staging) multipart(body io.Reader, boundary string) error {
	if boundary == "" {
		return &Error{Code: CodeInvalid, Field: "Content-Type", Message: "multipart upload without a boundary"}
	}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return tooLargeOr(err, "not a readable multipart body")
		}
		if p.FileName() == "" {
			continue // a plain form field
		}
		if err := st.add(p.FileName(), p); err != nil {
			return tooLargeOr(err, "")
		}
	}
}

func (st *staging) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return tooLargeOr(err, "not a readable tar archive")
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if _, err := entryBase(strings.TrimSuffix(h.Name, "/") + "/x"); err != nil {
				return err
			}
			continue
		case tar.TypeReg:
		default:
			return &Error{Code: CodeInvalid, Field: "files", Message: fmt.Sprintf("refused archive entry %q: only regular files (no links or devices)", truncate(h.Name, 80))}
		}
		if err := st.add(h.Name, tr); err != nil {
			return tooLargeOr(err, "")
		}
	}
}

// zip spools the body to disk (zip needs random access) within the limit,
// then reads the entries, trusting none of the sizes the archive declares.
func (st *staging) zip(body io.Reader) error {
	tmp, err := os.CreateTemp(st.dir, ".upload-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(st.file(tmp), body)
	if err != nil {
		return tooLargeOr(err, "")
	}
	zr, err := zip.NewReader(tmp, n)
	if err != nil {
		return &Error{Code: CodeInvalid, Field: "body", Message: "not a readable zip archive: " + safeErr(err)}
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if !f.Mode().IsRegular() {
			return &Error{Code: CodeInvalid, Field: "files", Message: fmt.Sprintf("refused archive entry %q: only regular files (no links or devices)", truncate(f.Name, 80))}
		}
		rc, err := f.Open()
		if err != nil {
			return &Error{Code: CodeInvalid, Field: "files", Message: "could not read " + truncate(f.Name, 80) + ": " + safeErr(err)}
		}
		err = st.add(f.Name, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// tooLargeOr maps a body that hit the size limit to 413 and keeps API errors.
func tooLargeOr(err error, what string) error {
	var mbe *http.MaxBytesError
	var e *Error
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.As(err, &e):
		return e
	case what == "":
		return err
	}
	return &Error{Code: CodeInvalid, Field: "body", Message: what + ": " + safeErr(err)}
}

// uploadBatch answers POST /api/v1/batches: it stores the upload, then
// loads it in the background (202); GET /api/v1/batches/{batch} follows it.
func (s *Server) uploadBatch(c *gin.Context) {
	free, err := s.admitUpload(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer free()
	dir, err := os.MkdirTemp(s.uploadDir, "batch-")
	if err != nil {
		s.fail(c, err)
		return
	}
	st := &staging{dir: dir, limits: s.uploadLimits, seen: map[string]bool{}, quota: s.sec.quota}
	remove := func() {
		os.RemoveAll(dir)
		s.sec.quota.release(st.charged)
	}
	keep := false
	defer func() {
		if !keep {
			remove()
		}
	}()
	if err := st.receive(c); err != nil {
		s.fail(c, err)
		return
	}
	if len(st.seen) == 0 {
		s.fail(c, &Error{Code: CodeInvalid, Field: "files", Message: "the upload holds no contract files (institutions, persons, catalog, registrations, settlements, fee_items, card_swipes, stock_movements as .csv, .csv.gz, .parquet or .arrow)"})
		return
	}
	batchID, err := pipeline.BatchID(dir)
	if err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Field: "files", Message: safeErr(err)})
		return
	}
	u := currentUser(c)
	if busy, ok := s.writer.TryAcquire("ingest " + batchID); !ok {
		s.fail(c, &Error{Code: CodeConflict, Message: "the database is busy (" + busy + "); retry when it has finished"})
		return
	}
	if err := s.recordUpload(c.Request.Context(), u, batchID); err != nil {
		s.writer.Release()
		s.fail(c, err)
		return
	}
	keep = true
	s.jobs.start(s.writer, "ingest", batchID, s.now(), func(ctx context.Context) (any, error) {
		defer remove()
		cfg := pipeline.DefaultConfig()
		cfg.Now = s.now
		cfg.BeforeCommit = districtGuard(u)
		sum, err := pipeline.Ingest(ctx, s.db, dir, cfg)
		return sum, err
	})
	c.JSON(http.StatusAccepted, gin.H{"batch_id": batchID, "status": "running", "status_url": "/api/v1/batches/" + batchID,
		"files": sortedKeys(st.seen), "ignored_files": st.ignored, "bytes": st.written, "uploaded_by": u.ID})
}

// batchStatus answers GET /api/v1/batches/{batch}: the running upload, or
// the ingest runs of the batch with their ledgers.
func (s *Server) batchStatus(c *gin.Context) {
	id := c.Param("batch")
	if err := s.batchVisible(c.Request.Context(), currentUser(c), id); err != nil {
		s.fail(c, err)
		return
	}
	jb, running := s.jobs.get("ingest", id)
	runs, err := pipeline.BatchRuns(c.Request.Context(), s.db, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !running && len(runs) == 0 {
		s.fail(c, &Error{Code: CodeNotFound, Message: "no such batch"})
		return
	}
	status := "unknown"
	switch {
	case running && jb.Status == "running":
		status = "running"
	case len(runs) > 0:
		status = runs[0].Status
	case running:
		status = jb.Status
	}
	cstIngestRuns(runs)
	out := gin.H{"batch_id": id, "status": status, "runs": runs}
	if running && jb.Error != "" {
		out["error"] = jb.Error
	}
	c.JSON(http.StatusOK, out)
}
