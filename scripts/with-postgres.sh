#!/usr/bin/env bash
# Runs a command with LOCALBOT_TEST_DATABASE_URL naming a PostgreSQL database: the one already in that variable,
# else a throwaway cluster started here (initdb in a temp folder, pg_ctl on a free port on 127.0.0.1, stopped
# and removed when the command ends), else none: then the PostgreSQL tests say they are skipped and why
# (under CI=true they fail instead). initdb refuses to run as root: as root the cluster runs as `nobody`.
# Used by `npm test`; `scripts/with-postgres.sh bash` gives a shell with a database.
set -euo pipefail

if [[ -n "${LOCALBOT_TEST_DATABASE_URL:-}" ]]; then exec "$@"; fi

bin=""
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
  bin="$(dirname "$(command -v initdb)")"
else
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then bin="$dir"; fi
  done
fi
if [[ -z "$bin" ]]; then
  export LOCALBOT_TEST_DATABASE_SKIPPED="no PostgreSQL here: neither LOCALBOT_TEST_DATABASE_URL nor initdb and pg_ctl (on PATH or in /usr/lib/postgresql/*/bin); install Debian's postgresql package to run them"
  exec "$@"
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/localbot-pg-XXXXXX")"
as=()
if [[ "$(id -u)" == 0 ]]; then
  chown nobody "$dir"
  as=(runuser -u nobody --)
fi
stop() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

port="$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")"
"${as[@]}" "$bin/initdb" -D "$dir/data" -U localbot --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
# Three localbot processes and the suites' own stores each keep a few dozen connections.
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c full_page_writes=off" start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export LOCALBOT_TEST_DATABASE_URL="postgres://localbot@127.0.0.1:$port/postgres"
"$@"
