#!/usr/bin/env bash
# Figures of operating civitas (docs/benchmarks.md, "Operating civitas"): an online backup of
# the demo province on SQLite while serve answers token requests, its
# restore, its restore drill, and a rotation of the OpenID Provider's key
# under load.
# Usage: bash bench/ops.sh [persons] [rotation]   (default 3000000, the documented full run;
# pass "rotation" to also run the 150 s rotation window). Needs age-keygen.
# 1000000 persons is the quick run (about 5 minutes on an idle 2-core machine, most of it
# loading). Environment: WORK=DIR KEEP=1 keeps the loaded province, and a later run with the
# same WORK skips the loading; SETTLE=SECONDS of load before and after each backup (default 10);
# SKIP_RESTORE=1 leaves out the restore and the drill.
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
[ -f "$work/kek" ] || openssl rand -hex 32 >"$work/kek"
[ -f "$work/id.txt" ] || age-keygen -o "$work/id.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/id.txt")
secret=$(openssl rand -hex 24)

settle=${SETTLE:-10}
if [ -f "$work/prov/civitas.db" ] && [ -f "$work/client-secret" ]; then
  echo "## demo province: reusing $work/prov"
  secret=$(cat "$work/client-secret")
else
  echo "## demo province: $persons persons"
  /usr/bin/time -f "loaded in %e s" "$bin" demo --data "$work/prov" --persons "$persons" --seed 1 2>&1 | tail -n 1
fi
ls -l "$work/prov/civitas.db" | awk '{printf "database file: %.0f MiB\n", $5 / 1048576}'
if [ ! -f "$work/client-secret" ]; then
  printf '%s\n' "$secret" | "$bin" client add --data "$work/prov" --key-file "$work/kek" --client-id bench --secret-stdin --scope wallet.query >/dev/null
  printf '%s\n' "$secret" >"$work/client-secret"
fi
"$bin" serve --addr 127.0.0.1:18090 --data "$work/prov" --key-file "$work/kek" --demo --log-level warn >"$work/serve.log" 2>&1 &
pids+=($!)
until curl -fs -o /dev/null http://127.0.0.1:18090/readyz; do sleep 0.1; done
"$work/tokenload" -url http://127.0.0.1:18090 -secret "$secret" -c 8 -for 5s >/dev/null # warm up

window() { echo "$1 $2" >"$work/window"; }
echo
echo "## backup while serving token requests (tokenload -c 8; p99 of the requests started inside the backup's seconds vs outside)"
# The default is the online backup as an operator runs it: paced to 110 MB/s, nice 19, one
# core, written around the page cache. "--rate 0 --nice 0" is the same backup as fast as it goes.
for how in "" "--rate 0 --nice 0"; do
  rm -f "$work/window" "$work/b.age" "$work/stop"
  "$work/tokenload" -url http://127.0.0.1:18090 -secret "$secret" -c 8 -for 30m -stop "$work/stop" -window "$work/window" >"$work/load.out" &
  load=$!
  sleep "$settle"
  t0=$(date +%s%N)
  # shellcheck disable=SC2086 # $how is a list of flags
  /usr/bin/time -o "$work/cpu" -f "%U %S" "$bin" backup --data "$work/prov" --key-file "$work/kek" --recipient "$recipient" --out "$work/b.age" $how >"$work/backup.out"
  t1=$(date +%s%N)
  window "$t0" "$t1"
  sleep "$settle"
  touch "$work/stop"
  wait "$load" || true
  echo "civitas backup ${how:-(defaults: --rate 110 --nice 19)}: $(head -n 1 "$work/backup.out" | sed 's/.*: //')"
  bytes=$(sed -n 's/.* \([0-9.]*\) \(GiB\|MiB\) of data.*/\1 \2/p' "$work/backup.out" | head -n 1 | awk '{print ($2 == "GiB") ? $1 * 1024 : $1}')
  awk -v c="$(cat "$work/cpu")" -v mib="$bytes" 'BEGIN { split(c, a, " "); printf "  CPU: %.2f s user + %.2f s system = %.2f s a GiB of database\n", a[1], a[2], (a[1] + a[2]) / (mib / 1024) }'
  echo "  token load: $(cat "$work/load.out")"
done
ls -l "$work/b.age" | awk '{printf "backup file: %.0f MiB\n", $5 / 1048576}'

if [ -z "${SKIP_RESTORE:-}" ]; then
echo
echo "## restore and restore drill"
rm -rf "$work/restored"
start=$(date +%s%N)
"$bin" restore --in "$work/b.age" --identity "$work/id.txt" --data "$work/restored" --key-file "$work/kek" >/dev/null
echo "restore: $(( ($(date +%s%N) - start) / 1000000 )) ms"
start=$(date +%s%N)
"$bin" backup verify --in "$work/b.age" --identity "$work/id.txt" --key-file "$work/kek" --scratch "$work" >/dev/null
echo "backup verify (restore drill with integrity_check): $(( ($(date +%s%N) - start) / 1000000 )) ms"
fi

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
