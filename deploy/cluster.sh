#!/usr/bin/env bash
# The production shape on one machine, from Debian packages and the Procfile's commands:
#
#   HAProxy :58000 ─┬─ web1 gunicorn :58001 ─┐          ┌─ PgBouncer :56432 (transaction) ─ primary :55432
#                   └─ web2 gunicorn :58002 ─┼─ writes ─┘                                        │ WAL stream
#   worker1, worker2 (RQ + scheduler + relay)┘  catalog reads ── replica :55433 (pg_basebackup) ─┘
#   Redis :56379 (appendonly)
#
# Everything listens on 127.0.0.1 only and lives in $NIBOG_CLUSTER_DIR (default /tmp/nibog-cluster).
# Needs: postgresql-15, pgbouncer, haproxy, redis-server (apt-get install pgbouncer haproxy), and
# the project's virtualenv. Run as root (PostgreSQL and PgBouncer run as the postgres user) or as
# postgres. Usage: deploy/cluster.sh up|down|status.   `make cluster-test` drives the booking race.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${NIBOG_CLUSTER_DIR:-/tmp/nibog-cluster}"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
PRIMARY=55432 REPLICA=55433 BOUNCER=56432 REDIS=56379 LB=58000 WEB1=58001 WEB2=58002
WM1=58101 WM2=58102

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

log() { echo "cluster: $*" >&2; }

wait_http() {  # url, seconds
  local i
  for i in $(seq 1 $(( $2 * 5 ))); do
    if "$PY" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" \
        2>/dev/null; then return 0; fi
    sleep 0.2
  done
  log "$1 did not answer in $2 s"; return 1
}

write_env() {
  # The app's settings, shared by both web instances, both workers and the test.
  cat > "$STATE/app.env" <<EOF
NIBOG_ENV=production
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
JWT_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
DATABASE_URL=postgresql://postgres@127.0.0.1:$BOUNCER/nibog
DATABASE_REPLICA_URL=postgresql://postgres@127.0.0.1:$REPLICA/nibog
DIRECT_DATABASE_URL=postgresql://postgres@127.0.0.1:$PRIMARY/nibog
# PgBouncer refuses the lock_timeout startup parameter: the database carries it (ALTER DATABASE).
DB_LOCK_TIMEOUT_MS=0
# Transaction pooling changes the server session under a client: no PREPAREd statements.
DB_PREPARED_STATEMENTS=false
REDIS_URL=redis://127.0.0.1:$REDIS/0
TRUSTED_PROXY_COUNT=1
PUBLIC_BASE_URL=http://127.0.0.1:$LB
PAYMENT_PROVIDER=sandbox
# A staging copy: production refuses the sandbox without this, and signs its answers with this key.
PAYMENT_SANDBOX_ALLOWED=true
RAZORPAY_KEY_SECRET=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
MAIL_BACKEND=console
SMS_BACKEND=console
WEB_CONCURRENCY=2
LOG_LEVEL=INFO
NIBOG_CLUSTER_DIR=$STATE
EOF
}

load_env() { set -a; . "$STATE/app.env"; set +a; }

up() {
  if [ -e "$STATE/up" ]; then log "already up ($STATE); run down first"; exit 1; fi
  local missing=""
  for bin in "$PGBIN/initdb" /usr/sbin/pgbouncer /usr/sbin/haproxy "$(command -v redis-server || true)"; do
    [ -n "$bin" ] && [ -x "$bin" ] || missing="$missing ${bin:-redis-server}"
  done
  if [ -n "$missing" ]; then
    log "missing:$missing - apt-get install postgresql pgbouncer haproxy redis-server"; exit 1
  fi
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  [ "$(id -u)" = 0 ] && chown postgres "$STATE"
  write_env
  load_env
  cd "$ROOT"

  log "PostgreSQL primary on $PRIMARY"
  as_pg "$PGBIN/initdb" -D "$STATE/primary" -U postgres -A trust --no-sync >/dev/null
  cat >> "$STATE/primary/postgresql.conf" <<EOF
port = $PRIMARY
listen_addresses = '127.0.0.1'
unix_socket_directories = '$STATE'
max_connections = 200
wal_level = replica
max_wal_senders = 4
hot_standby = on
EOF
  as_pg "$PGBIN/pg_ctl" -D "$STATE/primary" -l "$STATE/primary.log" -w start >/dev/null
  as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PRIMARY" -U postgres nibog
  as_pg psql -q -h 127.0.0.1 -p "$PRIMARY" -U postgres -d nibog \
    -c "ALTER DATABASE nibog SET lock_timeout = '5s'"

  log "release: flask db upgrade (directly on the primary)"
  DATABASE_URL="$DIRECT_DATABASE_URL" FLASK_APP=wsgi "$PY" -m flask db upgrade \
    > "$STATE/release.log" 2>&1

  log "streaming replica on $REPLICA (pg_basebackup)"
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY" -U postgres -D "$STATE/replica" \
    -R -X stream -c fast
  echo "port = $REPLICA" >> "$STATE/replica/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$STATE/replica" -l "$STATE/replica.log" -w start >/dev/null

  log "PgBouncer (transaction pooling) on $BOUNCER"
  echo '"postgres" ""' > "$STATE/userlist.txt"
  cat > "$STATE/pgbouncer.ini" <<EOF
[databases]
nibog = host=127.0.0.1 port=$PRIMARY dbname=nibog
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER
unix_socket_dir = $STATE
auth_type = trust
auth_file = $STATE/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
logfile = $STATE/pgbouncer.log
pidfile = $STATE/pgbouncer.pid
EOF
  [ "$(id -u)" = 0 ] && chown postgres "$STATE/pgbouncer.ini" "$STATE/userlist.txt"
  as_pg pgbouncer -d "$STATE/pgbouncer.ini"

  log "Redis on $REDIS"
  redis-server --bind 127.0.0.1 --port "$REDIS" --daemonize yes --dir "$STATE" \
    --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" --appendonly yes --save ""

  log "two web instances ($WEB1, $WEB2)"
  for n in 1 2; do
    port=$([ $n = 1 ] && echo $WEB1 || echo $WEB2)
    mkdir -p "$STATE/metrics-web$n"
    PORT=$port PROMETHEUS_MULTIPROC_DIR="$STATE/metrics-web$n" \
      "$PY" -m gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$port" --daemon \
      --pid "$STATE/web$n.pid" --error-logfile "$STATE/web$n.log" wsgi:app \
      >> "$STATE/web$n.out" 2>&1
  done

  log "two RQ workers (metrics on $WM1, $WM2)"
  for n in 1 2; do
    port=$([ $n = 1 ] && echo $WM1 || echo $WM2)
    nohup env WORKER_METRICS_PORT=$port "$PY" worker.py > "$STATE/worker$n.log" 2>&1 &
    echo $! > "$STATE/worker$n.pid"
  done

  log "HAProxy on $LB"
  cat > "$STATE/haproxy.cfg" <<EOF
global
  # Two file descriptors per proxied connection: stays under the usual 20000 open-file limit.
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  option http-server-close
frontend public
  bind 127.0.0.1:$LB
  # Metrics are for the monitoring network only (docs/operations.md).
  http-request deny deny_status 403 if { path_beg /metrics }
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /healthz
  server web1 127.0.0.1:$WEB1 check inter 2s
  server web2 127.0.0.1:$WEB2 check inter 2s
EOF
  haproxy -f "$STATE/haproxy.cfg" -D -p "$STATE/haproxy.pid"

  wait_http "http://127.0.0.1:$WEB1/readyz" 60
  wait_http "http://127.0.0.1:$WEB2/readyz" 60
  wait_http "http://127.0.0.1:$LB/readyz" 30
  wait_http "http://127.0.0.1:$WM1/metrics" 30
  wait_http "http://127.0.0.1:$WM2/metrics" 30
  touch "$STATE/up"
  log "up: http://127.0.0.1:$LB (state and logs in $STATE)"
}

stop_pidfile() {  # name: stop the process in $STATE/name.pid and wait for it
  local f="$STATE/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill "$pid" 2>/dev/null; then
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

down() {
  [ -d "$STATE" ] || { log "nothing to stop"; return 0; }
  stop_pidfile haproxy
  stop_pidfile worker1
  stop_pidfile worker2
  stop_pidfile web1
  stop_pidfile web2
  stop_pidfile redis
  stop_pidfile pgbouncer
  for db in replica primary; do
    if [ -f "$STATE/$db/postmaster.pid" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$STATE/$db" -m fast -w stop >/dev/null || true
    fi
  done
  rm -rf "$STATE"
  log "down"
}

status() {
  [ -e "$STATE/up" ] || { log "down"; return 1; }
  for f in "$STATE"/*.pid; do
    printf '%-12s %s\n' "$(basename "$f" .pid)" \
      "$(kill -0 "$(cat "$f")" 2>/dev/null && echo running || echo STOPPED)"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
