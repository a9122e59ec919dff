#!/usr/bin/env bash
# make bench-ingest: migrate a bench database, start `campaignbot server` on
# loopback, run the load generator against it and the HMAC-only floor, stop.
set -euo pipefail
cd "$(dirname "$0")/../../.."
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://127.0.0.1:5432/campaignbot_bench?sslmode=disable}
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/15}
export GITHUB_APP_WEBHOOK_SECRET=bench-secret
export GITHUB_APP_INTEGRATION_ID=1
export GITHUB_V3_API_URL=http://127.0.0.1:1/ GITHUB_V4_API_URL=http://127.0.0.1:1/graphql
key=$(mktemp); trap 'rm -f "$key"' EXIT
openssl genrsa -traditional -out "$key" 2048 2>/dev/null || openssl genrsa -out "$key" 2048 2>/dev/null
export GITHUB_APP_PRIVATE_KEY=$key
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
export CAMPAIGN_HTTP_ADDR=127.0.0.1:$port

psql -h 127.0.0.1 -d postgres -qc 'DROP DATABASE IF EXISTS campaignbot_bench WITH (FORCE)' >/dev/null 2>&1 || true
redis-cli -n 15 flushdb >/dev/null 2>&1 || true
bin/campaignbot migrate
CAMPAIGN_DEBUG_ADDR=${BENCH_DEBUG_ADDR:-} bin/campaignbot server --log-level=warn &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -f "$key"' EXIT
for _ in $(seq 1 50); do curl -fs "http://$CAMPAIGN_HTTP_ADDR/readyz" >/dev/null && break; sleep 0.2; done
bin/loadgen bench --url "http://$CAMPAIGN_HTTP_ADDR/api/github/hook" --secret bench-secret "$@"
echo
echo "stored deliveries: $(psql -h 127.0.0.1 -d campaignbot_bench -tAc 'SELECT count(*) FROM webhook_deliveries')"
echo "queued tasks (no worker ran): $(redis-cli -n 15 llen 'asynq:{campaign_tasks}:pending')"
