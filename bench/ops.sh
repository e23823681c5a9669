#!/usr/bin/env bash
# Figures of operating civitas (docs/benchmarks.md, "Operating civitas"): an online backup of
# the demo province on SQLite while serve answers token requests, its
# restore, its restore drill, and a rotation of the OpenID Provider's key
# under load.
# Usage: bash bench/ops.sh [persons] [rotation]   (default 3000000; pass
# "rotation" to also run the 150 s rotation window). Needs age-keygen.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-3000000}
work=${WORK:-$(mktemp -d)}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/civitas" ./cmd/civitas
go build -o "$work/tokenload" ./bench/tokenload
bin=$work/civitas
openssl rand -hex 32 >"$work/kek"
age-keygen -o "$work/id.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/id.txt")
secret=$(openssl rand -hex 24)

echo "## demo province: $persons persons"
/usr/bin/time -f "loaded in %e s" "$bin" demo --data "$work/prov" --persons "$persons" --seed 1 2>&1 | tail -n 1
ls -l "$work/prov/civitas.db" | awk '{printf "database file: %.0f MiB\n", $5 / 1048576}'
printf '%s\n' "$secret" | "$bin" client add --data "$work/prov" --key-file "$work/kek" --client-id bench --secret-stdin --scope wallet.query >/dev/null
"$bin" serve --addr 127.0.0.1:18090 --data "$work/prov" --key-file "$work/kek" --demo --log-level warn >"$work/serve.log" 2>&1 &
pids+=($!)
until curl -fs -o /dev/null http://127.0.0.1:18090/readyz; do sleep 0.1; done
"$work/tokenload" -url http://127.0.0.1:18090 -secret "$secret" -c 8 -for 5s >/dev/null # warm up

window() { echo "$1 $2" >"$work/window"; }
echo
echo "## backup while serving token requests (tokenload -c 8; p99 inside the backup's seconds vs outside)"
for how in "civitas backup" "nice -n 19 civitas backup"; do
  rm -f "$work/window" "$work/b.age" "$work/stop"
  "$work/tokenload" -url http://127.0.0.1:18090 -secret "$secret" -c 8 -for 30m -stop "$work/stop" -window "$work/window" >"$work/load.out" &
  load=$!
  sleep 15
  t0=$(date +%s%N)
  if [ "$how" = "civitas backup" ]; then
    "$bin" backup --data "$work/prov" --key-file "$work/kek" --recipient "$recipient" --out "$work/b.age" >"$work/backup.out"
  else
    nice -n 19 "$bin" backup --data "$work/prov" --key-file "$work/kek" --recipient "$recipient" --out "$work/b.age" >"$work/backup.out"
  fi
  t1=$(date +%s%N)
  window "$t0" "$t1"
  sleep 15
  touch "$work/stop"
  wait "$load" || true
  echo "$how: $(head -n 1 "$work/backup.out" | sed 's/.*: //')"
  echo "  token load: $(cat "$work/load.out")"
done
ls -l "$work/b.age" | awk '{printf "backup file: %.0f MiB\n", $5 / 1048576}'

echo
echo "## restore and restore drill"
start=$(date +%s%N)
"$bin" restore --in "$work/b.age" --identity "$work/id.txt" --data "$work/restored" --key-file "$work/kek" >/dev/null
echo "restore: $(( ($(date +%s%N) - start) / 1000000 )) ms"
start=$(date +%s%N)
"$bin" backup verify --in "$work/b.age" --identity "$work/id.txt" --key-file "$work/kek" --scratch "$work" >/dev/null
echo "backup verify (restore drill with integrity_check): $(( ($(date +%s%N) - start) / 1000000 )) ms"

if [ "${2:-}" = rotation ]; then
  echo
  echo "## rotation of the OpenID Provider's key under load (published 2 min ahead; the load runs across the switch)"
  rm -f "$work/window"
  "$work/tokenload" -url http://127.0.0.1:18090 -secret "$secret" -c 8 -for 200s -window "$work/window" >"$work/load.out" &
  load=$!
  sleep 5
  t0=$(date +%s%N)
  "$bin" keys rotate --what oidc --ahead 2m --data "$work/prov" --key-file "$work/kek"
  window "$t0" $((t0 + 185000000000))
  wait "$load" && echo "  token load: $(cat "$work/load.out")" || { echo "  FAILED: $(cat "$work/load.out")"; exit 1; }
fi
