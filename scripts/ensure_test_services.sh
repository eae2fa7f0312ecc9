#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the tests use are reachable.
# TEST_DATABASE_URL / TEST_REDIS_URL name them (defaults: the local servers). A local server
# that is installed but stopped is started; on a Debian machine run as root without them, they
# are installed with apt-get first. So are chromium, which the browser tests drive, and
# nginx and docker-compose, which the deploy kit's tests run.
set -euo pipefail

PG_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
REDIS_URL_="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

hostport() {  # URL → "host port"
  python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or int(sys.argv[2]))
PY
}

reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

wait_for() {  # host port name
  for _ in $(seq 1 60); do reachable "$1" "$2" && return 0; sleep 0.5; done
  echo "error: $3 at $1:$2 is still unreachable" >&2; return 1
}

is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

can_apt() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; }

read -r PG_HOST PG_PORT < <(hostport "$PG_URL" 5432)
read -r R_HOST R_PORT < <(hostport "$REDIS_URL_" 6379)

if ! reachable "$PG_HOST" "$PG_PORT"; then
  is_local "$PG_HOST" || { echo "error: PostgreSQL at $PG_HOST:$PG_PORT is unreachable" >&2; exit 1; }
  if ! command -v pg_ctlcluster >/dev/null && can_apt; then
    echo "installing PostgreSQL with apt-get…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  if command -v pg_ctlcluster >/dev/null; then
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    conf="/etc/postgresql/$version/main/pg_hba.conf"
    # The tests connect as postgres over TCP without a password (trust on loopback only).
    if [[ -w "$conf" ]] && ! grep -q "^host all all 127.0.0.1/32 trust" "$conf"; then
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  wait_for "$PG_HOST" "$PG_PORT" PostgreSQL
fi

if ! reachable "$R_HOST" "$R_PORT"; then
  is_local "$R_HOST" || { echo "error: Redis at $R_HOST:$R_PORT is unreachable" >&2; exit 1; }
  if ! command -v redis-server >/dev/null && can_apt; then
    echo "installing Redis with apt-get…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port "$R_PORT" --save "" --appendonly no
  wait_for "$R_HOST" "$R_PORT" Redis
fi
# The job tests run on the broker production uses: RabbitMQ on 127.0.0.1:5672 (guest/guest).
if ! reachable 127.0.0.1 5672; then
  if ! command -v rabbitmq-server >/dev/null && can_apt; then
    echo "installing RabbitMQ with apt-get…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  fi
  if command -v rabbitmq-server >/dev/null; then
    rabbitmq-server -detached || true
  fi
  wait_for 127.0.0.1 5672 RabbitMQ
fi

# The browser tests drive Debian's chromium (Playwright cannot download browsers offline).
if [[ ! -x /usr/bin/chromium ]] && can_apt; then
  echo "installing chromium with apt-get…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The deploy kit's tests (tests/ops/) run Debian's nginx in front of the hub and validate the
# compose file with docker-compose; promtool (package prometheus) checks the example alert rules.
for tool in nginx:nginx-light docker-compose:docker-compose promtool:prometheus; do
  if ! command -v "${tool%%:*}" >/dev/null && [[ ! -x "/usr/sbin/${tool%%:*}" ]] && can_apt; then
    echo "installing ${tool#*:} with apt-get…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool#*:}" >/dev/null
  fi
done
echo "test services: PostgreSQL $PG_HOST:$PG_PORT, Redis $R_HOST:$R_PORT and RabbitMQ 127.0.0.1:5672 reachable"
