#!/usr/bin/env bash
# Soak: client-credentials token load against civitas on SQLite for N
# minutes (default 10), one minute at a time, reporting per minute the
# requests, p50 and p99 (bench/tokenload) and the largest WAL and RSS seen
# (sampled every second). The WAL must stay under 64 MB and p99 flat.
# Usage: bash bench/soak.sh [minutes] [persons] [connections]
#        (defaults 10, 2000, 8; the server listens on 127.0.0.1:18091)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
persons=${2:-2000}
conns=${3:-8}
work=${WORK:-$(mktemp -d)}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/civitas" ./cmd/civitas
go build -o "$work/tokenload" ./bench/tokenload
bin=$work/civitas
openssl rand -hex 32 >"$work/kek"
secret=$(openssl rand -hex 24)
"$bin" demo --data "$work/prov" --persons "$persons" --seed 1 >/dev/null
printf '%s\n' "$secret" | "$bin" client add --data "$work/prov" --key-file "$work/kek" --client-id bench --secret-stdin --scope wallet.query >/dev/null
"$bin" serve --addr 127.0.0.1:18091 --data "$work/prov" --key-file "$work/kek" --demo --log-level warn >"$work/serve.log" 2>&1 &
server=$!
pids+=("$server")
until curl -fs -o /dev/null http://127.0.0.1:18091/readyz; do sleep 0.1; done

# One sample a second: WAL bytes and the server's RSS (KiB).
(
  while kill -0 "$server" 2>/dev/null; do
    wal=$(stat -c %s "$work/prov/civitas.db-wal" 2>/dev/null || echo 0)
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
    echo "$(date +%s) $wal $rss"
    sleep 1
  done
) >"$work/samples" &
pids+=($!)

echo "soak: $minutes min of client_credentials grants, $conns connections, $persons-person demo province on SQLite"
printf '%-6s %-70s %-12s %-10s\n' minute "tokenload" "max WAL MiB" "max RSS MiB"
worst=0
for m in $(seq 1 "$minutes"); do
  t0=$(date +%s)
  out=$("$work/tokenload" -url http://127.0.0.1:18091 -secret "$secret" -c "$conns" -for 60s || true)
  t1=$(date +%s)
  read -r wal rss < <(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b { if ($2 > w) w = $2; if ($3 > r) r = $3 } END { printf "%d %d\n", w, r }' "$work/samples")
  [ "$wal" -gt "$worst" ] && worst=$wal
  printf '%-6s %-70s %-12.1f %-10.1f\n' "$m" "$(echo "$out" | sed 's/ | inside window.*//; s/outside window: //')" "$(echo "$wal / 1048576" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done
sleep 15
printf 'idle 15 s after the load: RSS %.1f MiB, WAL %.1f MiB\n' "$(awk '/^VmRSS/ {print $2 / 1024}' "/proc/$server/status")" \
  "$(echo "$(stat -c %s "$work/prov/civitas.db-wal" 2>/dev/null || echo 0) / 1048576" | bc -l)"
ls -l "$work/prov/civitas.db" | awk '{printf "database file at the end: %.1f MiB\n", $5 / 1048576}'
printf 'largest WAL over the run: %.1f MiB (limit 64 MiB)\n' "$(echo "$worst / 1048576" | bc -l)"
[ "$worst" -lt $((64 << 20)) ]
