#!/usr/bin/env bash
# services.sh makes sure the services the tests need are up:
#   PostgreSQL  127.0.0.1:5432, database "test", user "postgres" (trust auth)
#   Redis       127.0.0.1:6379
#   PgBouncer   127.0.0.1:6432, transaction mode, in front of that PostgreSQL:
#               only when PGSESSION_TEST_PGBOUNCER is set (make test-pgbouncer);
#               scripts/pgbouncer.sh installs, configures and starts it.
# A local service that is down is started if this machine has it installed;
# then the script waits for it. It exits 1, naming what is missing and how to
# start it, if a service is still down after the wait.
#
# Environment:
#   PGSESSION_TEST_DATABASE_URL  use this PostgreSQL instead; it is only checked, never started.
#   PGSESSION_TEST_REDIS_URL     use this Redis instead; it is only checked, never started.
#   PGSESSION_TEST_PGBOUNCER     set (to anything) to need PgBouncer too.
#   PGSESSION_SERVICES_WAIT      seconds to wait for a started service (default 20).
set -euo pipefail

pg_host=127.0.0.1
pg_port=5432
pg_db=test
pg_user=postgres
redis_host=127.0.0.1
redis_port=6379
wait_seconds=${PGSESSION_SERVICES_WAIT:-20}

pg_url=${PGSESSION_TEST_DATABASE_URL:-}
redis_url=${PGSESSION_TEST_REDIS_URL:-}

have() { command -v "$1" >/dev/null 2>&1; }

say() { printf 'services: %s\n' "$*"; }

# pg_up succeeds when the test database answers a query.
pg_up() {
	if [ -n "$pg_url" ]; then
		psql "$pg_url" -XAtqc 'SELECT 1' >/dev/null 2>&1
		return
	fi
	if have pg_isready; then
		pg_isready -q -h "$pg_host" -p "$pg_port" || return 1
	fi
	if have psql; then
		psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d "$pg_db" -XAtqc 'SELECT 1' >/dev/null 2>&1
	else
		have pg_isready # without psql, pg_isready alone has to do
	fi
}

# pg_server_answers succeeds when a server accepts connections at all.
pg_server_answers() {
	have pg_isready && pg_isready -q -h "$pg_host" -p "$pg_port"
}

# redis_up succeeds when Redis answers PING.
redis_up() {
	local reply
	if [ -n "$redis_url" ]; then
		reply=$(redis-cli -u "$redis_url" ping 2>/dev/null) || return 1
	else
		reply=$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null) || return 1
	fi
	[ "$reply" = PONG ]
}

# wait_for NAME CHECK: polls CHECK until it succeeds or the wait is over.
wait_for() {
	local name=$1 check=$2 tries=$((wait_seconds * 2))
	while [ "$tries" -gt 0 ]; do
		if "$check"; then
			return 0
		fi
		sleep 0.5
		tries=$((tries - 1))
	done
	say "$name did not come up within ${wait_seconds}s"
	return 1
}

start_postgres() {
	if ! have pg_ctlcluster || [ ! -d /etc/postgresql ]; then
		say "cannot start PostgreSQL here: pg_ctlcluster or /etc/postgresql is missing"
		return 1
	fi
	local version
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	if [ -z "$version" ]; then
		say "cannot start PostgreSQL here: no cluster under /etc/postgresql"
		return 1
	fi
	say "PostgreSQL is down; starting cluster $version/main"
	pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

start_redis() {
	if ! have redis-server; then
		say "cannot start Redis here: redis-server is not installed"
		return 1
	fi
	say "Redis is down; starting redis-server on $redis_host:$redis_port"
	redis-server --daemonize yes --bind "$redis_host" --port "$redis_port" --save "" --appendonly no >/dev/null || true
}

missing=()

# --- PostgreSQL ---------------------------------------------------------------
if [ -n "$pg_url" ]; then
	pg_where="PGSESSION_TEST_DATABASE_URL"
else
	pg_where="$pg_host:$pg_port (database $pg_db, user $pg_user)"
fi
if ! have psql && ! have pg_isready; then
	missing+=("PostgreSQL: neither psql nor pg_isready is installed, so it cannot be checked (apt-get install postgresql-client)")
elif [ -n "$pg_url" ] && ! have psql; then
	missing+=("PostgreSQL: psql is needed to check PGSESSION_TEST_DATABASE_URL (apt-get install postgresql-client)")
elif pg_up; then
	say "PostgreSQL ok: $pg_where"
elif [ -n "$pg_url" ]; then
	missing+=("PostgreSQL: PGSESSION_TEST_DATABASE_URL does not answer; start that server or unset the variable to use $pg_host:$pg_port")
elif ! pg_server_answers && start_postgres && wait_for PostgreSQL pg_up; then
	say "PostgreSQL ok: $pg_where"
elif pg_server_answers; then
	missing+=("PostgreSQL: the server at $pg_host:$pg_port runs but database '$pg_db' does not answer for user '$pg_user'; create it: createdb -h $pg_host -p $pg_port -U $pg_user $pg_db")
else
	missing+=("PostgreSQL: nothing answers at $pg_where; start it: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start (or set PGSESSION_TEST_DATABASE_URL)")
fi

# --- Redis ------------------------------------------------------------------
if [ -n "$redis_url" ]; then
	redis_where="PGSESSION_TEST_REDIS_URL"
else
	redis_where="$redis_host:$redis_port"
fi
if ! have redis-cli; then
	missing+=("Redis: redis-cli is not installed, so it cannot be checked (apt-get install redis-tools)")
elif redis_up; then
	say "Redis ok: $redis_where"
elif [ -n "$redis_url" ]; then
	missing+=("Redis: PGSESSION_TEST_REDIS_URL does not answer PING; start that server or unset the variable to use $redis_host:$redis_port")
elif start_redis && wait_for Redis redis_up; then
	say "Redis ok: $redis_where"
else
	missing+=("Redis: nothing answers at $redis_where; start it: redis-server --daemonize yes --bind $redis_host --port $redis_port --save \"\" --appendonly no (or set PGSESSION_TEST_REDIS_URL)")
fi

# --- PgBouncer (make test-pgbouncer only) ------------------------------------
if [ -n "${PGSESSION_TEST_PGBOUNCER:-}" ]; then
	if ! bash "$(dirname "$0")/pgbouncer.sh"; then
		missing+=("PgBouncer: scripts/pgbouncer.sh could not make it answer on 127.0.0.1:6432 (its reason is above)")
	fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
	{
		echo
		echo "services: the tests need these services, which are not available:"
		for m in "${missing[@]}"; do
			echo "  - $m"
		done
	} >&2
	exit 1
fi
