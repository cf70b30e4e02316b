# Helpers shared by the project's scripts. Source, do not run.

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the named Debian packages that are missing (one apt-get update at most).
ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# rustfmt and clippy, when the toolchain lacks them.
ensure_rust_components() {
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
  fi
}

# Starts a throwaway PostgreSQL server for the tests (unless CPHAR_TEST_DATABASE_URL is
# already set) and exports CPHAR_TEST_DATABASE_URL. The server lives in a temporary directory
# and listens on a Unix socket in it only (no TCP port: nothing to collide with, nothing
# reachable from outside); it trusts local connections and is stopped, and its directory
# removed, when the calling shell exits or is interrupted. Start-up is retried.
start_test_postgres() {
  if [ -n "${CPHAR_TEST_DATABASE_URL:-}" ]; then
    echo "using PostgreSQL at CPHAR_TEST_DATABASE_URL" >&2
    return
  fi
  ensure_debian_packages postgresql
  local bin dir attempt runas=()
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  dir="$(mktemp -d /tmp/cphar-pg.XXXXXX)"
  CPHAR_TEST_PG_DIR="$dir"
  CPHAR_TEST_PG_BIN="$bin"
  # Installed before anything can fail, so a failed start leaves nothing behind.
  trap 'stop_test_postgres' EXIT
  trap 'stop_test_postgres; exit 130' INT
  trap 'stop_test_postgres; exit 143' TERM
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: the cluster belongs to the postgres system user.
    chown postgres "$dir"
    runas=(runuser -u postgres --)
  fi
  "${runas[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  for attempt in 1 2 3; do
    if "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -c listen_addresses='' -c fsync=on" start >/dev/null; then
      break
    fi
    if [ "$attempt" -eq 3 ]; then
      cat "$dir/server.log" >&2
      return 1
    fi
    echo "PostgreSQL did not start (attempt $attempt), retrying" >&2
    "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  done
  "${runas[@]}" "$bin/createdb" -h "$dir" -U postgres cphar_test
  # sqlx and libpq take a socket directory as the host parameter.
  export CPHAR_TEST_DATABASE_URL="postgres://postgres@localhost/cphar_test?host=$dir"
  echo "PostgreSQL test server on the Unix socket in $dir" >&2
}

stop_test_postgres() {
  if [ -n "${CPHAR_TEST_PG_DIR:-}" ]; then
    local runas=()
    [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
    if [ -f "$CPHAR_TEST_PG_DIR/data/postmaster.pid" ]; then
      "${runas[@]}" "$CPHAR_TEST_PG_BIN/pg_ctl" -D "$CPHAR_TEST_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$CPHAR_TEST_PG_DIR"
    CPHAR_TEST_PG_DIR=""
  fi
}
