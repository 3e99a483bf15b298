-- wrk script for the benchmark's throughput runs: one request shape per run (a case from the
-- manifest, passed by the driver as arguments) and a JSON summary line at the end.
--   wrk ... -s benches/wrk.lua URL -- METHOD PATH HOST BODY_FILE|- [name=value ...]

function init(args)
  wrk.method = args[1]
  wrk.path = args[2]
  wrk.headers["Host"] = args[3]
  if args[4] ~= "-" then
    local f = assert(io.open(args[4], "rb"))
    wrk.body = f:read("*a")
    f:close()
  end
  for i = 5, #args do
    local k, v = args[i]:match("^([^=]+)=(.*)$")
    if k then wrk.headers[k] = v end
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
