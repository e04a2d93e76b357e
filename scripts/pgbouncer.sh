#!/usr/bin/env bash
# pgbouncer.sh makes sure a PgBouncer in transaction mode answers on
# 127.0.0.1:6432 in front of the test PostgreSQL (127.0.0.1:5432), for
# `make test-pgbouncer`. scripts/services.sh runs it when
# PGSESSION_TEST_PGBOUNCER is set; it can also be run on its own.
#
# If something already answers on the port, it is only checked: database
# "test" must answer a query through it, and if its admin console answers,
# pool_mode must be "transaction". Otherwise pgbouncer is installed if missing
# (Debian's package, apt-get), configured in a run directory of its own and
# started as a daemon, as the postgres user when run as root (pgbouncer
# refuses to run as root). Every database name is forwarded to the server, so
# tests that create a database of their own reach it too.
#
# Exits 1, saying what is missing, if PgBouncer cannot be made to answer.
#
# Environment:
#   PGSESSION_PGBOUNCER_PORT  port to listen on (default 6432).
#   PGSESSION_PGBOUNCER_DIR   run directory: config, pid, log (default
#                             ${TMPDIR:-/tmp}/pgsession-pgbouncer).
#   PGSESSION_SERVICES_WAIT   seconds to wait for it to come up (default 20).
set -euo pipefail

host=127.0.0.1
port=${PGSESSION_PGBOUNCER_PORT:-6432}
pg_host=127.0.0.1
pg_port=5432
db=test
user=postgres
run_dir=${PGSESSION_PGBOUNCER_DIR:-${TMPDIR:-/tmp}/pgsession-pgbouncer}
wait_seconds=${PGSESSION_SERVICES_WAIT:-20}

say() { printf 'pgbouncer: %s\n' "$*"; }
fail() {
	printf 'pgbouncer: %s\n' "$*" >&2
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

have psql || fail "psql is needed to check PgBouncer (apt-get install postgresql-client)"

# answers succeeds when the test database answers a query through PgBouncer.
answers() {
	psql "postgres://$user@$host:$port/$db?sslmode=disable&connect_timeout=2" -XAtqc 'SELECT 1' >/dev/null 2>&1
}

# listening succeeds when anything accepts connections on the port.
listening() {
	if have pg_isready; then
		pg_isready -q -h "$host" -p "$port" -U "$user" -d "$db" -t 2
	else
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
	fi
}

# check_mode fails if PgBouncer's admin console answers with a pool_mode
# other than transaction; an admin console that does not answer is let be.
check_mode() {
	local mode
	mode=$(psql "postgres://$user@$host:$port/pgbouncer?sslmode=disable&connect_timeout=2" -XAtq \
		-c 'SHOW CONFIG' 2>/dev/null | awk -F'|' '$1 == "pool_mode" { print $2 }') || true
	case "$mode" in
	transaction) ;;
	"") say "could not read pool_mode from the admin console on $host:$port; assuming transaction mode" ;;
	*) fail "the PgBouncer on $host:$port runs with pool_mode = $mode; the tests need transaction mode (stop it, or set PGSESSION_PGBOUNCER_PORT)" ;;
	esac
}

if listening; then
	answers || fail "something answers on $host:$port, but database '$db' does not answer a query as user '$user' through it"
	check_mode
	say "ok: $host:$port (already running) -> $pg_host:$pg_port, database $db"
	exit 0
fi

if ! have pgbouncer && [ ! -x /usr/sbin/pgbouncer ]; then
	if have apt-get; then
		say "pgbouncer is not installed; installing Debian's package"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null ||
			fail "pgbouncer is missing and 'apt-get install -y pgbouncer' failed (run apt-get update, or install PgBouncer and put it on PATH)"
	else
		fail "pgbouncer is missing and there is no apt-get to install it: install PgBouncer (1.18 or later) and put it on PATH"
	fi
fi
bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

# The run directory holds everything pgbouncer writes, so it must belong to
# the user pgbouncer runs as.
mkdir -p "$run_dir"
if [ "$(id -u)" -eq 0 ]; then
	id "$user" >/dev/null 2>&1 || fail "running as root, but there is no '$user' user for pgbouncer to run as"
	run_as=(-u "$user")
	chown "$user" "$run_dir"
else
	run_as=()
fi

# auth_type trust: no password is checked, but the user must be in auth_file.
printf '"%s" ""\n' "$user" >"$run_dir/userlist.txt"
cat >"$run_dir/pgbouncer.ini" <<EOF
; Written by scripts/pgbouncer.sh for pgsession's tests: edits are overwritten.
[databases]
; Any database name goes to the test server, under the same name.
* = host=$pg_host port=$pg_port

[pgbouncer]
listen_addr = $host
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $run_dir/userlist.txt
admin_users = $user
pool_mode = transaction
; Each test node opens a pool of up to 8 connections and parallel tests run
; many nodes: clients are plenty, server connections few (PostgreSQL's
; max_connections is shared with the listeners and other work).
max_client_conn = 2000
default_pool_size = 30
max_db_connections = 40
; Tests connect thousands of times: log errors only.
log_connections = 0
log_disconnections = 0
logfile = $run_dir/pgbouncer.log
pidfile = $run_dir/pgbouncer.pid
EOF
if [ "$(id -u)" -eq 0 ]; then
	chown "$user" "$run_dir/userlist.txt" "$run_dir/pgbouncer.ini"
fi

# A stale pid file (a pgbouncer that died) stops a new one from starting.
if [ -f "$run_dir/pgbouncer.pid" ] && ! kill -0 "$(cat "$run_dir/pgbouncer.pid")" 2>/dev/null; then
	rm -f "$run_dir/pgbouncer.pid"
fi

say "starting $bin on $host:$port -> $pg_host:$pg_port (pool_mode transaction; config, log: $run_dir)"
"$bin" -d "${run_as[@]}" "$run_dir/pgbouncer.ini" ||
	fail "pgbouncer did not start; see $run_dir/pgbouncer.log"

tries=$((wait_seconds * 2))
until answers; do
	tries=$((tries - 1))
	if [ "$tries" -le 0 ]; then
		tail -n 20 "$run_dir/pgbouncer.log" >&2 || true
		fail "pgbouncer started but database '$db' did not answer through $host:$port within ${wait_seconds}s (is PostgreSQL up on $pg_host:$pg_port?)"
	fi
	sleep 0.5
done
check_mode
say "ok: $host:$port -> $pg_host:$pg_port, database $db"
