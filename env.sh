# Source this file for an interactive shell: the tags every go command here uses.
export CGO_ENABLED=1
export GOFLAGS="$(go env GOFLAGS | sed 's/-tags=[^ ]*//') -tags=duckdb_arrow,nomsgpack"
