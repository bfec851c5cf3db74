// Package pipeline ingests settled-claim batches into an embedded DuckDB
// through Apache Arrow.
//
// A batch is one folder holding any of the eight contract files
// (../contract) as CSV, CSV.gz, Parquet or Arrow IPC. Each file is decoded
// and validated into Arrow record batches that stream into DuckDB through
// duckdb-go's Arrow interface (RegisterView, then INSERT … SELECT): never
// row-by-row inserts, and memory bounded by the batch size, not the file
// size. A vectorised checker (vcheck.go) validates blocks of rows column by
// column — CSV text parsed per column by parallel workers, Parquet and Arrow
// record batches read as whole arrays and loaded as they are when every row
// passes — and hands the rows it cannot pass to the row checker
// (validate.go), the one definition of a well-formed row, for their reasons.
//
// Every input row ends in exactly one of four counts, per file:
//
//		read = loaded + quarantined + unchanged + corrected
//
//	  - loaded: a new record (new key);
//	  - quarantined: malformed (type, enum, required column, check digit,
//	    arithmetic identity, range), an orphan whose parent record is neither in
//	    the database nor earlier in the same batch, or a second row with the same
//	    key and different content in one batch. The quarantine table keeps the
//	    file, line, column, reason and raw row;
//	  - unchanged: the same key with the same content as the stored version (a
//	    re-delivered batch) or as an earlier row of the same batch;
//	  - corrected: the same key with new content; the new version wins and the
//	    old one moves to <table>_history.
//
// Orphans are quarantined rather than held: files are loaded parents first
// (institutions, persons, catalog, registrations, settlements, fee_items,
// card_swipes, stock_movements), so a batch that carries its parents loads
// whole; a child delivered before its parent is re-delivered with the parent.
// Card swipes are not checked against settlements: a swipe without a
// settlement is a card-misuse signal, not a malformed row.
//
// A file that cannot be read at all (neither UTF-8 nor GB18030, a missing
// required column, a truncated Parquet or Arrow file) fails the batch, which
// runs in one DuckDB transaction, so nothing of it is loaded. Delimited files
// may be UTF-8 (with or without a BOM) or GB18030/GBK, comma, pipe, tab or
// semicolon separated, quoted with " or ' (encoding.go).
//
// The national platform's extract tables (setl_d, mdtrt_d, fee_list_d;
// nhsa.go) load into the same tables: mdtrt_d into visits, setl_d into
// settlements, settlement_refunds and, when their contract files are absent,
// persons and institutions; fee_list_d into fee_items. Their rows marked
// invalid (vali_flag = 0) are counted as void:
//
//	read = loaded + quarantined + unchanged + corrected + void
//
// Hostile input is bounded the same way: a CSV record (header included)
// longer than Config.MaxRowBytes (1 MiB) and a .csv.gz that expands more
// than Config.MaxGzipRatio (100) times fail the file with ErrRowTooLong or
// ErrGzipBomb, so a 10 MB field, a header of 10^7 columns or a gzip bomb
// costs a few MiB of memory; a corrupt Parquet or Arrow file fails its batch
// even where arrow-go would panic. Archives (.zip, .tar) are not batch files
// and are ignored; unpacking uploads is the API's job.
package pipeline
