#!/usr/bin/env bash
# Figures of the trust services (issue 4) over real HTTP, side by side in one
# run with their limits: the raw ECDSA P-256 signing rate on the same cores
# and the bare net/http server.
# Usage: bash bench/pki.sh   (needs wrk and openssl; installs wrk if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
go build -o "$work/civitas" ./cmd/civitas
go build -o "$work/rawhttp" ./bench/rawhttp
bin=$work/civitas
url=http://127.0.0.1:18090

"$bin" serve --addr 127.0.0.1:18090 --data "$work/data" --demo --log-level warn >/dev/null 2>&1 &
pids+=($!)
"$work/rawhttp" 127.0.0.1:18091 &
pids+=($!)
until curl -fs -o /dev/null "$url/readyz"; do sleep 0.1; done

# A certificate to ask about, and the requests.
citizen=$("$bin" registry list persons --data "$work/data" --json --limit 200 | python3 -c '
import json, sys
for line in sys.stdin:
    p = json.loads(line)
    if "1960" <= p["birth_date"] <= "2000":
        print(p["citizen_id"]); break')
printf 'bench password\n' | "$bin" account add --data "$work/data" --citizen-id "$citizen" --level 2 --password-stdin >/dev/null
"$bin" cert issue --data "$work/data" --citizen-id "$citizen" --out "$work/leaf.pem" >/dev/null
curl -fsS "$url/pki/ca/citizens.crt" | openssl x509 -inform DER -out "$work/citizens.pem"
openssl ocsp -issuer "$work/citizens.pem" -cert "$work/leaf.pem" -no_nonce -reqout "$work/ocsp.der" >/dev/null 2>&1
openssl ocsp -issuer "$work/citizens.pem" -cert "$work/leaf.pem" -reqout "$work/ocsp-nonce.der" >/dev/null 2>&1
ocsp_path=/pki/ocsp/$(base64 -w0 "$work/ocsp.der" | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')
head -c 1000 /dev/urandom >"$work/doc"
openssl ts -query -data "$work/doc" -sha256 -cert -out "$work/q.tsq" 2>/dev/null

post() { # wrk script posting a binary file
  cat >"$work/$1.lua" <<LUA
local f = io.open("$2", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "$3"
LUA
  echo "$work/$1.lua"
}
ocsp_post=$(post ocsp "$work/ocsp-nonce.der" application/ocsp-request)
tsa_post=$(post tsa "$work/q.tsq" application/timestamp-query)
curl -fsS "$url$ocsp_path" -o /dev/null # warm: the answer is signed once and cached

echo "## limit: raw ECDSA P-256 signatures on both cores (same run)"
go test -run '^$' -bench 'RawSign/software' -benchtime 3s ./internal/pki/ | grep -E 'RawSign'

echo
echo "## over HTTP, wrk -t2 -c64 -d10s; wrk and the server share the 2 cores"
run() {
  wrk -t2 -c64 -d10s --latency "${@:2}" | awk -v n="$1" '/Requests\/sec/ {rps=$2} /99%/ {p99=$2} /Non-2xx/ {bad=$0} END {printf "%-44s %10s req/s   p99 %-8s %s\n", n, rps, p99, bad}'
}
run "peer: bare net/http" http://127.0.0.1:18091/
run "OCSP GET, pre-signed (RFC 5019)" "$url$ocsp_path"
run "OCSP POST with a nonce (signed per request)" -s "$ocsp_post" "$url/pki/ocsp"
run "TSA token (POST /pki/tsa)" -s "$tsa_post" "$url/pki/tsa"
