#!/usr/bin/env bash
# Figures of the platform foundation (issue 2), side by side with their peers.
# Usage: bash bench/foundation.sh [persons]   (default 3000000)
# Needs: wrk (apt-get install -y wrk), PostgreSQL on 127.0.0.1:5432 for the PostgreSQL rows.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-3000000}
pg=${PG_SERVER:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
go build -o "$work/civitas" ./cmd/civitas
go build -o "$work/rawhttp" ./bench/rawhttp
bin=$work/civitas

echo "## serve --demo on an empty SQLite directory"
for i in 1 2 3; do
  start=$(date +%s%N)
  "$bin" serve --addr 127.0.0.1:18080 --data "$work/ready$i" --demo >/dev/null 2>&1 &
  pid=$!
  until curl -fs -o /dev/null http://127.0.0.1:18080/readyz; do sleep 0.01; done
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  sleep 3
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  echo "run $i: ready in ${ms} ms; idle RSS $((rss / 1024)) MiB"
  kill $pid; wait $pid || true
done

echo
echo "## HTTP throughput, 2 cores, wrk -t2 -c64 -d10s (civitas and wrk share the 2 cores)"
"$bin" serve --addr 127.0.0.1:18080 --data "$work/ready1" --demo --log-level warn >/dev/null 2>&1 &
pids+=($!)
"$work/rawhttp" 127.0.0.1:18081 &
pids+=($!)
sleep 1
for target in "peer: bare net/http|http://127.0.0.1:18081/" "civitas /healthz|http://127.0.0.1:18080/healthz" "civitas / (home page, vi)|http://127.0.0.1:18080/"; do
  name=${target%%|*}; u=${target#*|}
  wrk -t2 -c64 -d10s --latency "$u" | awk -v n="$name" '/Requests\/sec/ {rps=$2} /99%/ {p99=$2} END {printf "%-28s %10s req/s   p99 %s\n", n, rps, p99}'
done

echo
echo "## demo province: $persons persons"
/usr/bin/time -f "SQLite: %e s wall, peak RSS %M KiB" "$bin" demo --data "$work/big" --persons "$persons" --seed 1 2>&1 | grep -v '^\s*$' | tail -n 2
db=civitas_bench_$$
psql -q "$pg" -c "CREATE DATABASE $db" >/dev/null
/usr/bin/time -f "PostgreSQL: %e s wall, peak RSS %M KiB" "$bin" demo --db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" --persons "$persons" --seed 1 2>&1 | tail -n 2
psql -q "$pg" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null

echo
echo "## Go benchmarks: lookups, audit append and the raw SQLite insert limit"
go test -run '^$' -bench 'PersonLookup|Append|Verify|RawInsert' -benchtime 2s ./internal/registry/ ./internal/audit/ ./internal/db/
CIVITAS_TEST_POSTGRES=$pg go test -run '^$' -bench 'PersonLookup|Append|RawInsert' -benchtime 2s ./internal/registry/ ./internal/audit/ ./internal/db/
