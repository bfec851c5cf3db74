package pipeline

import "github.com/medaudit/medaudit/contract"

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

// IsBatchFile reports whether name is the file name of a contract table or
// of a national extract table in a supported format (settlements.csv,
// fee_items.parquet, setl_d.csv.gz, …).
func IsBatchFile(name string) bool {
	base, _, ok := splitFormat(name)
	if !ok {
		return false
	}
	if _, ok := contract.TableByName(base); ok {
		return true
	}
	_, ok = nationalByName(base)
	return ok
}
