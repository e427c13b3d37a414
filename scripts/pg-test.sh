#!/usr/bin/env bash
# A throwaway PostgreSQL server for the fleet tests (Tests/RTMSFleetTests), on loopback.
#
#   scripts/pg-test.sh bindir        the directory of initdb/pg_ctl/postgres (exit 3: none found)
#   scripts/pg-test.sh start DIR     initdb into DIR/data, start on a free port of 127.0.0.1 (socket in
#                                    DIR); prints the URL, postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/pg-test.sh stop DIR      stop it (immediate) and delete DIR
#   scripts/pg-test.sh restart DIR [SECONDS]
#                                    crash it (immediate stop), wait SECONDS (0), start again on the same
#                                    port: committed data is kept
#
# Binaries: $PG_BINDIR, else initdb on PATH, else the newest /usr/lib/postgresql/*/bin (Debian's
# postgresql package). PostgreSQL refuses to run as root: as root, the server runs as the user
# 'postgres' when it exists (Debian's package creates it), else 'nobody', and DIR is given to it.
# fsync is off (a crash of the machine could lose data; a crash of the server cannot): for tests only.
set -euo pipefail

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then echo "$PG_BINDIR"; return 0; fi
  local p
  p=$(command -v initdb 2>/dev/null || true)
  if [ -n "$p" ]; then
    p=$(readlink -f "$p")
    local d; d=$(dirname "$p")
    [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && { echo "$d"; return 0; }
  fi
  local best=""
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best="$d"
  done
  [ -n "$best" ] && { echo "$best"; return 0; }
  return 3
}

run_as() {
  # Runs "$@" as the server's user (root cannot run PostgreSQL).
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  if command -v runuser >/dev/null 2>&1; then
    runuser -u "$pg_user" -- "$@"
  else
    su "$pg_user" -s /bin/sh -c "$(printf '%q ' "$@")"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd=${1:-}
case "$cmd" in
  bindir)
    find_bindir || { echo "no PostgreSQL binaries found (apt-get install postgresql, or set PG_BINDIR)" >&2; exit 3; }
    exit 0 ;;
  start|stop|restart) ;;
  *) echo "usage: $0 bindir | start DIR | stop DIR | restart DIR [SECONDS]" >&2; exit 2 ;;
esac
dir=${2:?usage: $0 $cmd DIR}
bindir=$(find_bindir) || { echo "no PostgreSQL binaries found (apt-get install postgresql, or set PG_BINDIR)" >&2; exit 3; }
pg_user=postgres
id -u postgres >/dev/null 2>&1 || pg_user=nobody

pg_start() {
  local port=$1
  run_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=off -c full_page_writes=off" \
    start >/dev/null
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$pg_user" "$dir"
    chmod 700 "$dir"
    run_as test -w "$dir" || { echo "$dir is not reachable by the user $pg_user: use a directory under /tmp" >&2; exit 1; }
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      run_as "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # A free port can be taken between the check and the bind: try a few.
    ok=""
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      if pg_start "$port" 2>>"$dir/start.err"; then ok=1; break; fi
    done
    [ -n "$ok" ] || { cat "$dir/start.err" "$dir/server.log" >&2 2>/dev/null || true; exit 1; }
    echo "$port" > "$dir/port"
    echo "postgres://postgres@127.0.0.1:$port/postgres" | tee "$dir/url"
    ;;
  restart)
    port=$(cat "$dir/port")
    run_as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    sleep "${3:-0}"
    pg_start "$port"
    cat "$dir/url"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      run_as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
esac
