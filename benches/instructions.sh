#!/usr/bin/env bash
# `make bench-instructions`: instructions the filter's core executes per request, natively, counted
# by callgrind: the steadiest figure on a shared machine. benches/exchange.rs runs each case
# (every text new, the configuration bench.py wrote) N1 and N2 times; the difference of the two
# totals over the 7 × (N2 − N1) extra requests leaves out start-up and configuration.
#   benches/instructions.sh [CASE ...]   (default: every case in the manifest)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
bin=$(cargo bench --bench exchange --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable") and m["target"]["name"] == "exchange"][0])')
py=${PY:-.venv/bin/python}
[ -f target/bench/bodies/cases.json ] || "$py" benches/agent_traffic.py target/bench/bodies >/dev/null
if [ -z "${BENCH_CONFIG:-}" ]; then
  # The shipped configuration as `make bench` runs it (limits out of reach, the MCP case's server).
  export BENCH_CONFIG=target/bench/instructions-config.json
  "$py" -c 'import sys; sys.path.insert(0, "benches"); import bench
text, _ = bench.out_of_reach(open("filter-config/config.json").read())
open(sys.argv[1], "w").write(bench.with_mcp_server(text)[0])' "$BENCH_CONFIG"
fi
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=($(python3 -c 'import json; print(" ".join(c["name"] for c in json.load(open("target/bench/bodies/cases.json"))))'))
total() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --bench --new-only --case "$1" --iters "$2" 2>&1 |
    awk '/Collected/ {print $4}'
}
for c in "${cases[@]}"; do
  a=$(total "$c" 4) b=$(total "$c" 14)
  echo "RESULT native_instructions_$c=$(( (b - a) / 70 ))"
done
