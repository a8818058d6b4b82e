#!/usr/bin/env bash
# cargo deny over deny.toml (issue 19 item 8): advisories, licences, bans (two versions of a
# crate warn), sources. .ci/run runs it; scripts/deps.sh installs cargo-deny.
#
# RustSec's advisory database is a git repository that cargo-deny fetches from GitHub. These
# machines reach only the package registries, so the snapshot vendored in
# .ci/advisory-db.tar.gz is used (and said so): refresh it on a machine that
# reaches GitHub with `git archive --prefix=advisory-db/ HEAD | gzip -9n` in a clone of
# RustSec's advisory-db, and update SNAPSHOT below.
set -euo pipefail
cd "$(dirname "$0")/.."

SNAPSHOT="RustSec advisory-db bf5c0d245a92671908518d7e765914d437954ed6 of 2026-08-21"
# Where cargo-deny keeps the database of deny.toml's db-urls (its directory name hashes the URL).
DB="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691"

if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "scripts/deny.sh: cargo-deny is not installed: run scripts/deps.sh" >&2
  exit 1
fi

# CI checks against the vendored snapshot, so that its result depends on the tree alone (an
# advisory published tonight does not turn an unchanged tree red). BERTH_DENY_ONLINE=1 asks for
# the live database instead, on a machine that reaches GitHub.
if [ "${BERTH_DENY_ONLINE:-0}" = 1 ]; then
  exec cargo deny check --hide-inclusion-graph
fi

echo "scripts/deny.sh: checking advisories against the vendored snapshot ($SNAPSHOT);" \
  "BERTH_DENY_ONLINE=1 checks the live database" >&2
# The snapshot as the git repository cargo-deny opens, laid anew each run (half a second).
rm -rf "$DB"
mkdir -p "$DB"
tar -xzf .ci/advisory-db.tar.gz -C "$DB" --strip-components=1
git -C "$DB" init -q
git -C "$DB" add -A
GIT_AUTHOR_DATE="2026-08-21T00:00:00Z" GIT_COMMITTER_DATE="2026-08-21T00:00:00Z" \
  git -C "$DB" -c user.name=berth -c user.email=berth@localhost -c commit.gpgsign=false \
  commit -q -m "$SNAPSHOT"
exec cargo deny --offline check --hide-inclusion-graph
