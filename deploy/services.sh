#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are
# running locally: starts them when installed but stopped, installs them
# from Debian's packages when missing. Where neither works (no Debian, no
# root), start them with deploy/compose.yaml instead.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do up "$1" && return 0; sleep 0.5; done
  echo "services: port $1 did not open" >&2; return 1
}

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "services: $* missing and cannot be installed here; run: docker compose -f deploy/compose.yaml up -d" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! up 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "services: installing PostgreSQL"
    apt_install postgresql
  fi
  ver=$(ls /etc/postgresql | head -n1)
  # Tests connect as the OS user over TCP without a password, as on the dev machines.
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba" 2>/dev/null; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
  fi
  echo "services: starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  wait_port 5432
  user=$(id -un)
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$user'\"" | grep -q 1 ||
    su postgres -c "createuser --superuser '$user'" || true
fi

if ! up 6379; then
  if ! command -v redis-server >/dev/null; then
    echo "services: installing Redis"
    apt_install redis-server
  fi
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
fi
echo "services: PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are up"
