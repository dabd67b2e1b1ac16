#!/usr/bin/env bash
# Installs the two servers the local stack and the tests need, when they are missing:
#   - the Temporal CLI (dev server + Web UI), v1.5.1 (newer tags carry a `replace` directive `go install` rejects);
#   - FerretDB v1.24.2, built from its module source: a plain `go install` builds a binary that panics at start
#     because it lacks build/version/version.txt. One line is patched: on SQLite, 1.24.2 filters `_id` with
#     `_ferretdb_sjson->'$._id'` while its unique `_id` index is on `_ferretdb_sjson->"_id"`, so SQLite never
#     uses the index and every lookup by `_id` scans the collection (17 ms at 20k documents instead of 0.7 ms;
#     `EXPLAIN QUERY PLAN` shows SCAN vs SEARCH ... USING INDEX). Both expressions select the same value.
# Both go to $MESSAGING_TOOLS_DIR (default ~/.cache/messaging-service/bin), shared by every clone on the machine.
set -euo pipefail

TEMPORAL_VERSION=v1.5.1
FERRETDB_VERSION=v1.24.2
TOOLS_DIR="${MESSAGING_TOOLS_DIR:-$HOME/.cache/messaging-service/bin}"
mkdir -p "$TOOLS_DIR"

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "install-tools: Go is needed to build $1 (or put a '$1' binary on PATH)" >&2
    exit 1
  fi
}

if [ ! -x "$TOOLS_DIR/temporal" ]; then
  if command -v temporal >/dev/null 2>&1 && temporal --version 2>/dev/null | grep -q "${TEMPORAL_VERSION#v}"; then
    ln -sf "$(command -v temporal)" "$TOOLS_DIR/temporal"
  else
    need_go temporal
    echo "install-tools: building the Temporal CLI $TEMPORAL_VERSION (3-4 minutes the first time)..."
    GOBIN="$TOOLS_DIR" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION"
  fi
fi

# The recipe is stamped beside the binary, so a binary built by an older recipe is rebuilt.
FERRETDB_RECIPE="$FERRETDB_VERSION+sqlite-id-index"
if [ ! -x "$TOOLS_DIR/ferretdb" ] || [ "$(cat "$TOOLS_DIR/ferretdb.recipe" 2>/dev/null)" != "$FERRETDB_RECIPE" ]; then
  need_go ferretdb
  echo "install-tools: building FerretDB $FERRETDB_VERSION (about 2 minutes the first time)..."
  module_dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  build_dir=$(mktemp -d)
  trap 'rm -rf "$build_dir"' EXIT
  cp -r "$module_dir/." "$build_dir/"
  chmod -R u+w "$build_dir"
  mkdir -p "$build_dir/build/version"
  echo "$FERRETDB_VERSION" > "$build_dir/build/version/version.txt"
  metadata_go="$build_dir/internal/backends/sqlite/metadata/metadata.go"
  sed -i "s|IDColumn = DefaultColumn + \"->'\$._id'\"|IDColumn = DefaultColumn + \"->'_id'\"|" "$metadata_go"
  grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$metadata_go" || { echo "install-tools: FerretDB patch did not apply" >&2; exit 1; }
  (cd "$build_dir" && go build -o "$TOOLS_DIR/ferretdb" ./cmd/ferretdb)
  echo "$FERRETDB_RECIPE" > "$TOOLS_DIR/ferretdb.recipe"
fi

echo "install-tools: temporal and ferretdb are in $TOOLS_DIR"
