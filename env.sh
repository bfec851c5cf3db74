# The tags every go command here uses: sourced by scripts/*.sh, and by you for an interactive shell.
export CGO_ENABLED=1
export GOFLAGS="$(go env GOFLAGS | sed 's/-tags=[^ ]*//') -tags=duckdb_arrow,nomsgpack"
