package pipeline

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Limits on hostile CSV input (Config.MaxRowBytes, Config.MaxGzipRatio).
var (
	ErrRowTooLong = errors.New("CSV record too long")
	ErrGzipBomb   = errors.New("gzip data expands too far")
)

// gzipFreeBytes is how much a .csv.gz may expand before MaxGzipRatio applies.
const gzipFreeBytes = 1 << 20

type csvSource struct {
	f     *os.File
	gz    *gzip.Reader
	r     *csv.Reader
	cols  columnMap
	row   srcRow
	rec   []string
	width int
	limit *rowLimiter
	swap  bool // single-quoted file read through quoteSwapper
	// decoded is set for a file decoded from GB18030: a U+FFFD in a field
	// is an invalid sequence of the file.
	decoded  bool
	encoding string
}

func openCSV(f BatchFile, cfg Config) (rowSource, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	s := &csvSource{f: fh}
	var in io.Reader = bufio.NewReaderSize(&countingReader{r: fh, progress: cfg.Progress}, 1<<20)
	if f.Format == FormatCSVGz {
		compressed := in.(*bufio.Reader)
		s.gz, err = gzip.NewReader(compressed)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("not a gzip file: %w", err)
		}
		in = bufio.NewReaderSize(&gzipGuard{gz: s.gz, f: fh, buffered: compressed, ratio: int64(cfg.MaxGzipRatio)}, 1<<20)
	}
	br := in.(*bufio.Reader)
	if f.Dialect.Encoding != "" && f.Dialect.Encoding != EncodingUTF8 {
		text, err := decodedReader(br, f.Dialect.Encoding)
		if err != nil {
			s.close()
			return nil, err
		}
		br = bufio.NewReaderSize(text, 1<<20)
		s.decoded, s.encoding = true, f.Dialect.Encoding
	}
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	var text io.Reader = br
	if f.Dialect.singleQuoted() {
		text = quoteSwapper{r: br}
		s.swap = true
	}
	s.limit = &rowLimiter{r: text, max: int64(cfg.MaxRowBytes)}
	s.r = csv.NewReader(s.limit)
	s.r.Comma = f.Dialect.comma()
	s.r.FieldsPerRecord = -1
	s.r.ReuseRecord = true
	header, err := s.r.Read()
	if err != nil {
		s.close()
		if err == io.EOF {
			return nil, errors.New("empty file: no header row")
		}
		return nil, fmt.Errorf("header: %w", err)
	}
	for _, h := range header {
		if !utf8.ValidString(h) {
			s.close()
			return nil, errors.New("header is not valid UTF-8 (GBK or another encoding? give --encoding gb18030)")
		}
	}
	s.limit.start = s.r.InputOffset()
	line, _ := s.r.FieldPos(0)
	s.row.line = int64(line)
	header = append([]string(nil), header...)
	if s.swap {
		for i, h := range header {
			header[i] = swapQuotes(h)
		}
	}
	if f.Layout == LayoutNHSA {
		header = nationalHeader(header)
	}
	if s.cols, err = mapColumns(f.Table, header); err != nil {
		s.close()
		return nil, err
	}
	s.width = len(header)
	s.row.cells = make([]cell, len(f.Table.Columns))
	s.row.raw = s.rawRow
	return s, nil
}

func (s *csvSource) next() (*srcRow, error) {
	if err := s.read(); err != nil {
		return nil, err
	}
	if s.row.bad != "" {
		return &s.row, nil
	}
	for i, p := range s.cols.index {
		if p < 0 {
			s.row.cells[i] = cell{}
		} else {
			s.row.cells[i] = cell{kind: cellText, text: s.rec[p]}
		}
	}
	s.row.extra = s.extra(s.rec)
	return &s.row, nil
}

// heldRow returns a record read earlier, its fields rec, as a row.
func (s *csvSource) heldRow(rec []string, line int64, extra string) *srcRow {
	row := &srcRow{cells: make([]cell, len(s.cols.index)), raw: func() string { return csvLine(rec) }}
	s.fillRow(row, rec, line, extra)
	return row
}

// fillRow sets row's line, extra and cells (as many as the table's columns)
// from a record read earlier, its fields rec; its raw is the caller's.
func (s *csvSource) fillRow(row *srcRow, rec []string, line int64, extra string) {
	row.line, row.extra, row.bad, row.void, row.badCol = line, extra, "", false, ""
	for i, p := range s.cols.index {
		if p < 0 {
			row.cells[i] = cell{}
		} else {
			row.cells[i] = cell{kind: cellText, text: rec[p]}
		}
	}
}

// read reads the next record into s.rec and its line into s.row.line; a
// malformed record or one with the wrong number of fields sets s.row.bad.
func (s *csvSource) read() error {
	rec, err := s.r.Read()
	s.limit.start = s.r.InputOffset()
	var perr *csv.ParseError
	malformed := errors.As(err, &perr) && !errors.Is(perr.Err, csv.ErrFieldCount)
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, ErrRowTooLong):
		return fmt.Errorf("the record after line %d: %w", s.row.line, err)
	case err != nil && !malformed && !errors.Is(err, csv.ErrFieldCount):
		return err
	}
	s.rec = rec
	if malformed {
		s.row.line = int64(perr.StartLine)
	} else {
		line, _ := s.r.FieldPos(0)
		s.row.line = int64(line)
	}
	// Also the fields of a malformed record: its raw text is quarantined.
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return fmt.Errorf("line %d is not valid UTF-8 (GBK or another encoding? give --encoding gb18030)", s.row.line)
		}
		if s.decoded && strings.ContainsRune(v, utf8.RuneError) {
			return fmt.Errorf("line %d is not valid %s: %w", s.row.line, s.encoding, errNotText)
		}
	}
	if malformed {
		s.row.bad = "malformed CSV: " + perr.Err.Error()
		return nil
	}
	if s.swap {
		for i, v := range rec {
			rec[i] = swapQuotes(v)
		}
	}
	if len(rec) != s.width {
		s.row.bad = fmt.Sprintf("row has %d fields, the header has %d", len(rec), s.width)
		return nil
	}
	s.row.bad = ""
	return nil
}

// extra is the JSON object of a record's non-empty unknown columns.
func (s *csvSource) extra(rec []string) string {
	return s.cols.extraJSON(func(i int) (string, bool) { return rec[i], rec[i] != "" })
}

func (s *csvSource) rawRow() string { return csvLine(s.rec) }

// csvLine encodes fields as one CSV line without its line break.
func csvLine(fields []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(fields)
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func (s *csvSource) close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.f.Close()
}

// rowLimiter feeds the CSV reader and refuses to hand it more than max bytes
// past the end of the last complete record (start, kept up to date by the
// source), so one record, however many lines its quoted fields span, never
// holds more than max bytes (plus the reader's 4 KiB buffer) in memory.
type rowLimiter struct {
	r     io.Reader
	read  int64 // bytes handed to the CSV reader
	start int64 // input offset where the current record starts
	max   int64
}

func (l *rowLimiter) Read(p []byte) (int, error) {
	if l.read-l.start > l.max {
		return 0, fmt.Errorf("%w: longer than %d bytes (MaxRowBytes; an unclosed quote?)", ErrRowTooLong, l.max)
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// gzipGuard stops a decompression bomb: past gzipFreeBytes, the bytes
// decompressed may not exceed ratio times the compressed bytes consumed
// (the file position less what the buffer over the file still holds).
type gzipGuard struct {
	gz       *gzip.Reader
	f        *os.File
	buffered *bufio.Reader
	ratio    int64 // 0: no limit
	out      int64 // bytes decompressed
}

func (g *gzipGuard) Read(p []byte) (int, error) {
	n, err := g.gz.Read(p)
	g.out += int64(n)
	if g.ratio > 0 && g.out > gzipFreeBytes {
		pos, serr := g.f.Seek(0, io.SeekCurrent)
		if serr != nil {
			return n, serr
		}
		if in := pos - int64(g.buffered.Buffered()); g.out > gzipFreeBytes+g.ratio*in {
			return n, fmt.Errorf("%w: %d bytes of gzip data expanded to %d bytes, more than %d times (MaxGzipRatio; a decompression bomb?)",
				ErrGzipBomb, in, g.out, g.ratio)
		}
	}
	return n, err
}
