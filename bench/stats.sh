#!/usr/bin/env bash
# Figures of the adoption dashboards (docs/benchmarks.md, "Adoption"): the
# province's dashboard, its indicators API and the communes' open data, read
# over HTTP from `civitas serve` on the demo province, one request at a time
# and then four at a time; p50, p99 and max from curl's own timings.
# Then the worklist page and the letters PDF, as Go benchmarks over the
# same province (BenchmarkWorklistAt, BenchmarkLetters in internal/app).
# Usage: bash bench/stats.sh [persons] [requests]   (defaults 3000000, 300)
# WORK=DIR reuses a province loaded there before (bench/ops.sh's WORK too:
# its prov/ and kek), KEEP=1 keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-3000000}
n=${2:-300}
work=${WORK:-$(mktemp -d)}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/civitas" ./cmd/civitas
[ -f "$work/kek" ] || openssl rand -hex 32 >"$work/kek"
if [ -f "$work/prov/civitas.db" ]; then
  echo "## demo province: reusing $work/prov"
else
  echo "## demo province: $persons persons"
  /usr/bin/time -f "loaded in %e s" "$work/civitas" demo --data "$work/prov" --persons "$persons" --seed 1 2>&1 | tail -n 1
fi
"$work/civitas" serve --addr 127.0.0.1:18092 --data "$work/prov" --key-file "$work/kek" --demo --log-level warn >"$work/serve.log" 2>&1 &
pids+=($!)
until curl -fs -o /dev/null http://127.0.0.1:18092/readyz; do sleep 0.2; done
base=http://127.0.0.1:18092
summary() { sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "n=%d p50=%.1fms p99=%.1fms max=%.1fms\n", NR, t[int(NR * 0.5 + 0.5)], t[int(NR * 0.99 + 0.5)], t[NR] }'; }
get() { for _ in $(seq "$2"); do curl -fs -o /dev/null -w '%{time_total}\n' "$base$1"; done; }
for path in /stats /api/stats/v1/indicators '/open-data/indicators.csv?level=commune'; do
  get "$path" 5 >/dev/null # warm
  echo "$path, one at a time: $(get "$path" "$n" | summary)"
  echo "$path, four at a time: $( (for _ in 1 2 3 4; do get "$path" $((n / 4)) & done; wait) | summary)"
done
# The worklist and the letters need an official's level-2 session, which
# the Go benchmarks make in process on the same province (serve stopped
# first, so that the two do not share the cores).
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
echo "## worklist (smallest commune of 20,000 persons or more, its largest area, first page) and letters"
export CIVITAS_BENCH_PROVINCE="$work/prov" CIVITAS_BENCH_KEY_FILE="$work/kek"
CIVITAS_LOAD_DURATION=30s go test ./internal/app/ -run XXX -bench 'WorklistAt' -benchtime 1x | grep -E '^Benchmark|commune|target'
go test ./internal/app/ -run XXX -bench 'Letters$' -benchtime 5x | grep -E '^Benchmark|letters a PDF'
