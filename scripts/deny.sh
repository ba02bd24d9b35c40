#!/usr/bin/env bash
# Runs cargo-deny (advisories, bans, licences, sources; requirements 5.4.1.1-5.4.1.3) offline,
# against the RustSec advisory snapshot in ../shared/advisory-db.
#
#   bash scripts/deny.sh                 # all checks
#   bash scripts/deny.sh advisories      # one check (any `cargo deny check` arguments)
#
# cargo-deny only reads an advisory database that is a git checkout, kept under
# `<db-path>/<name>-<hash of the URL>` (see deny.toml's [advisories]). The snapshot is plain
# files, so this script copies it into a fresh git repository at exactly that place and runs
# `cargo deny --offline check`, which opens the database there and fetches nothing.
#
# Environment:
#   INSPAY_ADVISORY_SNAPSHOT  the snapshot directory (default: <repo>/../shared/advisory-db)
#   INSPAY_ADVISORY_DB_ROOT   where the git copy is built (default: /tmp/inspay-advisory-dbs,
#                             the same default deny.toml uses)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

snapshot=${INSPAY_ADVISORY_SNAPSHOT:-$repo_root/../shared/advisory-db}
export INSPAY_ADVISORY_DB_ROOT=${INSPAY_ADVISORY_DB_ROOT:-/tmp/inspay-advisory-dbs}
# Used only if the directory cannot be read from cargo-deny's own log: what cargo-deny 0.20
# derives from db-urls = ["https://github.com/RustSec/advisory-db"].
fallback_db_name=advisory-db-3157b0e258782691

if [ ! -f "$snapshot/SNAPSHOT.txt" ] || [ ! -d "$snapshot/crates" ]; then
    echo "error: no advisory snapshot at $snapshot (expected SNAPSHOT.txt and crates/)" >&2
    exit 1
fi
snapshot=$(cd "$snapshot" && pwd)
mkdir -p "$INSPAY_ADVISORY_DB_ROOT"

# Ask cargo-deny where it will look: with --offline it logs the path before opening it.
probe_log=$(mktemp)
trap 'rm -f "$probe_log"' EXIT
cargo deny --offline --log-level debug check advisories >"$probe_log" 2>&1 || true
db_dir=$(sed -n "s/.*Opening advisory database at '\([^']*\)'.*/\1/p" "$probe_log" | head -n 1)
if [ -z "$db_dir" ]; then
    db_dir=$INSPAY_ADVISORY_DB_ROOT/$fallback_db_name
    echo "note: cargo-deny did not name its database directory; using $db_dir" >&2
fi
case "$db_dir" in
    "$INSPAY_ADVISORY_DB_ROOT"/*) ;;
    *)
        echo "error: cargo-deny wants its database at $db_dir, outside $INSPAY_ADVISORY_DB_ROOT" >&2
        echo "       (is deny.toml's [advisories] db-path still \${INSPAY_ADVISORY_DB_ROOT:-...}?)" >&2
        exit 1
        ;;
esac

# Build the git copy afresh each run (about a second), beside the target, then swap it in, so a
# copy left by an earlier or interrupted run never matters.
snapshot_line=$(head -n 1 "$snapshot/SNAPSHOT.txt")
snapshot_date=$(printf '%s\n' "$snapshot_line" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' | head -n 1 || true)
build_dir=$(mktemp -d "$INSPAY_ADVISORY_DB_ROOT/.build.XXXXXX")
cp -R "$snapshot/." "$build_dir/"
chmod -R u+w "$build_dir"
(
    cd "$build_dir"
    git init -q -b main
    git config user.name "inspay ci"
    git config user.email "ci@inspay.invalid"
    git config commit.gpgsign false
    git add -A
    # The commit carries the snapshot's own date, so `git log` in the copy tells its age.
    if [ -n "$snapshot_date" ]; then
        export GIT_AUTHOR_DATE="${snapshot_date}T00:00:00Z" GIT_COMMITTER_DATE="${snapshot_date}T00:00:00Z"
    fi
    git commit -q -m "$snapshot_line"
)
rm -rf "$db_dir"
mv "$build_dir" "$db_dir"
advisory_count=$(find "$db_dir/crates" -name 'RUSTSEC-*.md' | wc -l)
echo "advisory database: $db_dir"
echo "  from $snapshot: $snapshot_line"
echo "  $advisory_count crate advisories"

# Prove which database is read: a debug run of the advisories check names the directory it
# loads, and would say so if it fetched anything.
verify_log=$(mktemp)
trap 'rm -f "$probe_log" "$verify_log"' EXIT
cargo deny --offline --log-level debug check advisories >"$verify_log" 2>&1 || true
if ! grep -q "loading advisory database from '\?$db_dir" "$verify_log"; then
    echo "error: cargo-deny did not report loading $db_dir; its log:" >&2
    grep -v "^\s*[│├└┌]" "$verify_log" | head -n 40 >&2
    exit 1
fi
if grep -qiE "fetching advisory|advisory database .* fetched" "$verify_log"; then
    echo "error: cargo-deny fetched an advisory database despite --offline" >&2
    exit 1
fi
grep -E "loading advisory database from" "$verify_log" | sed 's/^[^]]*] /  cargo-deny: /'

# The real run, at the normal log level: warnings, errors and the per-check summary.
echo "cargo deny --offline check${*:+ $*}"
cargo deny --offline check "$@"
