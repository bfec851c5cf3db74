package pipeline

// BatchID returns the id a batch folder will be loaded under: the
// fingerprint of its contract files' names, sizes and bytes, so the same
// files always get the same id whatever folder they arrive in.
func BatchID(dir string) (string, error) {
	files, _, err := FindBatchFiles(dir)
	if err != nil {
		return "", err
	}
	return fingerprint(files)
}

// IsBatchFile reports whether name is the file name of a contract table in
// a supported format (settlements.csv, fee_items.parquet, …).
func IsBatchFile(name string) bool {
	_, _, ok := splitFileName(name)
	return ok
}
