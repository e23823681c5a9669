#!/usr/bin/env bash
# Figures of PDF signing and validation (issue 5), side by side in one run:
#   - seal at B-B of a 1 MiB PDF, one core, against SHA-256 of the file + one
#     ECDSA P-256 signature (the floor), in process;
#   - validation of that file: in process, as a `civitas verify` process, and
#     poppler pdfsig (process) on the same file, with the same verdict;
#   - sealing and verifying a 200 MiB PDF: time and peak RSS;
#   - CSC signHash over HTTP on SQLite, single hashes and batches of 100,
#     against raw ECDSA on both cores.
# Usage: bash bench/signing.sh   (needs pdfsig, certutil, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/civitas" ./cmd/civitas
bin=$work/civitas
url=http://127.0.0.1:18095

# makepdf FILE MIB writes a one-page PDF whose content stream is MIB MiB of
# comment lines: a large file made quickly, with little memory.
makepdf() {
  python3 - "$1" "$2" <<'PY'
import sys
mib = int(sys.argv[2])
out = open(sys.argv[1], "wb")
offs = []
out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
for body in [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
             b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"]:
    offs.append(out.tell()); out.write(b"%d 0 obj\n" % len(offs) + body + b"\nendobj\n")
line = b"%" + b"x" * 98 + b"\n"
n = mib * 1048576 // len(line)
offs.append(out.tell())
out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % (n * len(line)))
for _ in range(n // 1000): out.write(line * 1000)
out.write(line * (n % 1000))
out.write(b"\nendstream\nendobj\n")
x = out.tell()
out.write(b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(offs) + 1))
for o in offs: out.write(b"%010d 00000 n\r\n" % o)
out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offs) + 1, x))
PY
}

echo "## in process, one core (go test -cpu 1)"
go test -run '^$' -bench 'SealBB1MiB|RawLimit1MiB|Validate1MiB' -benchtime 2s -count 3 -cpu 1 ./internal/pades/ | grep Benchmark

echo
echo "## processes on the same 1 MiB B-B file (civitas serve up, so pdfsig reaches its OCSP responder)"
"$bin" serve --addr 127.0.0.1:18095 --public-url "$url" --data "$work/data" --demo --log-level warn >/dev/null 2>&1 &
pid=$!
until curl -fs -o /dev/null "$url/readyz"; do sleep 0.1; done
"$bin" ca export --data "$work/data" --out "$work/ca" >/dev/null
mkdir "$work/nss"
certutil -N -d "sql:$work/nss" --empty-password
certutil -A -d "sql:$work/nss" -n civitas-root -t "CT,C,C" -i "$work/ca/root.pem"
agency=$("$bin" registry list agencies --data "$work/data" --limit 1 --json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["code"])')
makepdf "$work/in.pdf" 1
"$bin" seal --data "$work/data" --agency "$agency" --in "$work/in.pdf" --out "$work/bb.pdf" --level B-B >/dev/null
pdfsig -nssdir "sql:$work/nss" "$work/bb.pdf" 2>&1 | grep -E 'Validation' | sed 's/^/   pdfsig: /'
"$bin" verify --data "$work/data" "$work/bb.pdf" | grep verdict | sed 's/^/   civitas: /'
timeit() { # name, then the command; 20 runs
  local name=$1; shift
  local start end
  start=$(date +%s%N)
  for _ in $(seq 20); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  printf '%-34s %7.1f ms per file\n' "$name" "$(echo "($end - $start) / 20 / 1000000" | bc -l)"
}
timeit "pdfsig (NSS, online OCSP)" pdfsig -nssdir "sql:$work/nss" "$work/bb.pdf"
timeit "civitas verify --trust (no DB)" "$bin" verify --trust "$work/ca/root.pem" --data "$work/none" "$work/bb.pdf"
timeit "civitas verify --data (DB, OCSP)" "$bin" verify --data "$work/data" "$work/bb.pdf"
# The validation service anyone calls: POST /api/verify/v1 on the running
# server (no process to start per file), one client in a loop, then four.
python3 - "$url/api/verify/v1" "$work/bb.pdf" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1]); body = open(sys.argv[2], "rb").read()
def post(conn):
    conn.request("POST", u.path, body, {"Content-Type": "application/pdf"})
    r = conn.getresponse(); out = r.read()
    if r.status != 200 or json.loads(out)["verdict"] != "TOTAL_PASSED":
        raise SystemExit("verify API: %d %s" % (r.status, out[:200]))
def loop(n, times):
    conn = http.client.HTTPConnection(u.hostname, u.port)
    for _ in range(n):
        s = time.perf_counter(); post(conn); times.append(time.perf_counter() - s)
warm = []; loop(5, warm)
one = []; loop(50, one); one.sort()
print("%-34s %7.1f ms per file (median of 50, one client)" % ("POST /api/verify/v1", one[len(one) // 2] * 1000))
many = []; start = time.perf_counter()
ts = [threading.Thread(target=loop, args=(50, many)) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print("%-34s %7.1f files/s (4 clients, the server's limit of concurrent checks)" % ("POST /api/verify/v1", 200 / (time.perf_counter() - start)))
PY

echo
echo "## a 200 MiB PDF"
makepdf "$work/big.pdf" 200
for lv in B-B B-LT; do
  /usr/bin/time -f "seal $lv: %e s, peak RSS %M KiB" "$bin" seal --data "$work/data" --agency "$agency" --in "$work/big.pdf" --out "$work/big-$lv.pdf" --level "$lv" >/dev/null
done
/usr/bin/time -f "civitas verify: %e s, peak RSS %M KiB" "$bin" verify --data "$work/data" "$work/big-B-LT.pdf" >/dev/null
/usr/bin/time -o "$work/time.txt" -f "pdfsig: %e s, peak RSS %M KiB" pdfsig -nssdir "sql:$work/nss" "$work/big-B-LT.pdf" >/dev/null 2>&1 || true
cat "$work/time.txt"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

echo
echo "## signHash over HTTP, SQLite, both cores"
go test -run '^$' -bench 'SignHashHTTP|SignHashParallel|RawECDSASign' -benchtime 6000x ./internal/signing/ | grep Benchmark

echo
echo "## peer: digitorus/pdfsign on the same file, one core"
# A module of its own (bench/peer), so the peer never enters our go.mod.
(cd bench/peer && go run . -in "$work/in.pdf" -n 200)

echo
echo "## peer: npm @libpdf/core on the same file, one Node process pinned to one core"
# Its own package (bench/peer-js, lock file committed), so no npm package
# enters the repository's build; npm ci installs exactly the locked versions.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "   JS peer skipped: node and npm are not installed"
elif ! (cd bench/peer-js && npm ci --silent --no-audit --no-fund); then
  echo "   JS peer skipped: npm ci failed in bench/peer-js"
else
  # WebCrypto runs on libuv's thread pool and V8 collects on helper threads:
  # pin the process, as GOMAXPROCS=1 holds the Go peer to one core.
  pin=(); command -v taskset >/dev/null && pin=(taskset -c 0)
  (cd bench/peer-js && ${pin[@]+"${pin[@]}"} node sign.mjs --in "$work/in.pdf" --n 200 --out "$work/libpdf")
  # The peer's output, checked by civitas against the peer's throwaway CA.
  "$bin" verify --json --trust "$work/libpdf/ca.pem" --data "$work/none" "$work/libpdf/libpdf.pdf" \
    >"$work/libpdf/verify.json" 2>"$work/libpdf/verify.err" || true
  python3 - "$work/libpdf/verify.json" "$work/libpdf/verify.err" <<'PY'
import json, sys
try:
    rep = json.load(open(sys.argv[1]))
except ValueError:
    print("   !!! civitas verify libpdf.pdf gave no report: %s -- the libpdf/core output is BROKEN !!!"
          % open(sys.argv[2]).read().strip())
    sys.exit(0)
sigs = rep.get("Signatures") or []
reasons = sorted({r for s in sigs for r in (s.get("Reasons") or [])})
v = rep.get("Verdict")
if len(sigs) == 1 and v == "TOTAL_PASSED":
    print("   civitas verify libpdf.pdf: TOTAL_PASSED")
elif len(sigs) == 1 and v == "INDETERMINATE" and reasons == ["pades.reason.revocation_unknown"]:
    print("   civitas verify libpdf.pdf: INDETERMINATE, revocation unknown only -- acceptable: the peer's "
          "throwaway CA publishes no CRL or OCSP; byte range, digest, signature and chain to the CA pass")
else:
    print("   !!! civitas verify libpdf.pdf: %s, %d signature(s), reasons %s -- the libpdf/core output is "
          "BROKEN or refused by civitas !!!" % (v, len(sigs), ", ".join(reasons) or "none"))
PY
fi
