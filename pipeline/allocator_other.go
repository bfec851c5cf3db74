//go:build !(linux && cgo)

package pipeline

// setMuzzyDecay does nothing where DuckDB does not link jemalloc in.
func setMuzzyDecay(int) error { return nil }
