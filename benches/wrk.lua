-- wrk script for the benchmark: one request shape per run, read from the case manifest entry the
-- driver passes as arguments, and a JSON summary line at the end.
--   wrk ... -s benches/wrk.lua URL -- METHOD PATH HOST BODY_FILE|- DELAY_MS [header=value ...]
-- DELAY_MS > 0 paces each connection (a pause before each request): the fixed, low rate of the
-- latency runs. 0 = as fast as possible (throughput runs).
local delay_ms = 0

function init(args)
  wrk.method = args[1]
  wrk.path = args[2]
  wrk.headers["Host"] = args[3]
  if args[4] ~= "-" then
    local f = assert(io.open(args[4], "rb"))
    wrk.body = f:read("*a")
    f:close()
  end
  delay_ms = tonumber(args[5]) or 0
  for i = 6, #args do
    local k, v = args[i]:match("^([^=]+)=(.*)$")
    if k then wrk.headers[k] = v end
  end
end

if os.getenv("BENCH_PACED") == "1" then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
