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

type csvSource struct {
	f     *os.File
	gz    *gzip.Reader
	r     *csv.Reader
	cols  columnMap
	row   srcRow
	rec   []string
	width int
}

func openCSV(f BatchFile, cfg Config) (rowSource, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	s := &csvSource{f: fh}
	var in io.Reader = bufio.NewReaderSize(&countingReader{r: fh, progress: cfg.Progress}, 1<<20)
	if f.Format == FormatCSVGz {
		s.gz, err = gzip.NewReader(in)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("not a gzip file: %w", err)
		}
		in = bufio.NewReaderSize(s.gz, 1<<20)
	}
	br := in.(*bufio.Reader)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	s.r = csv.NewReader(br)
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
			return nil, errors.New("header is not valid UTF-8 (the contract requires UTF-8; GBK or another encoding?)")
		}
	}
	header = append([]string(nil), header...)
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
	rec, err := s.r.Read()
	var perr *csv.ParseError
	switch {
	case err == io.EOF:
		return nil, io.EOF
	case errors.As(err, &perr) && !errors.Is(perr.Err, csv.ErrFieldCount):
		s.rec = rec
		s.row.line = int64(perr.StartLine)
		s.row.bad = "malformed CSV: " + perr.Err.Error()
		return &s.row, nil
	case err != nil && !errors.Is(err, csv.ErrFieldCount):
		return nil, err
	}
	s.rec = rec
	line, _ := s.r.FieldPos(0)
	s.row.line = int64(line)
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("line %d is not valid UTF-8 (the contract requires UTF-8; GBK or another encoding?)", s.row.line)
		}
	}
	if len(rec) != s.width {
		s.row.bad = fmt.Sprintf("row has %d fields, the header has %d", len(rec), s.width)
		return &s.row, nil
	}
	s.row.bad = ""
	for i, p := range s.cols.index {
		if p < 0 {
			s.row.cells[i] = cell{}
		} else {
			s.row.cells[i] = cell{kind: cellText, text: rec[p]}
		}
	}
	s.row.extra = s.cols.extraJSON(func(i int) (string, bool) { return rec[i], rec[i] != "" })
	return &s.row, nil
}

func (s *csvSource) rawRow() string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(s.rec)
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func (s *csvSource) close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.f.Close()
}
