//go:build linux && cgo

package pipeline

/*
#include <errno.h>
#include <stdio.h>
#include <sys/types.h>

// DuckDB's allocator on Linux: the jemalloc it links in, under DuckDB's
// symbol prefix.
int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

// set_muzzy_decay sets muzzy_decay_ms to v in every arena created so far
// (an index without an arena answers EFAULT) and for those created later;
// it returns jemalloc's error, 0 when none.
static int set_muzzy_decay(ssize_t v) {
	unsigned n;
	size_t sz = sizeof(n);
	int rc = duckdb_je_mallctl("arenas.narenas", &n, &sz, NULL, 0);
	if (rc != 0) {
		return rc;
	}
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
		rc = duckdb_je_mallctl(name, NULL, NULL, &v, sizeof(v));
		if (rc != 0 && rc != EFAULT) {
			return rc;
		}
	}
	return duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &v, sizeof(v));
}

static int get_muzzy_decay(ssize_t *v) {
	size_t sz = sizeof(*v);
	return duckdb_je_mallctl("arenas.muzzy_decay_ms", v, &sz, NULL, 0);
}
*/
import "C"

import "fmt"

// setMuzzyDecay sets how long DuckDB's allocator keeps the pages it has
// lazily freed (MADV_FREE, "muzzy", still counted in the resident set)
// before it returns them (MADV_DONTNEED), in milliseconds, for its arenas
// now and for those it creates later.
func setMuzzyDecay(ms int) error {
	if rc := C.set_muzzy_decay(C.ssize_t(ms)); rc != 0 {
		return fmt.Errorf("DuckDB allocator: muzzy_decay_ms: error %d", int(rc))
	}
	return nil
}

// muzzyDecay reads the setting for the arenas DuckDB's allocator creates.
func muzzyDecay() (int, error) {
	var v C.ssize_t
	if rc := C.get_muzzy_decay(&v); rc != 0 {
		return 0, fmt.Errorf("DuckDB allocator: muzzy_decay_ms: error %d", int(rc))
	}
	return int(v), nil
}
