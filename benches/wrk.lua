-- wrk script for the benchmark's throughput runs: one request shape per run (a case from the
-- manifest, passed by the driver as arguments) and a JSON summary line at the end.
--   wrk ... -s benches/wrk.lua URL -- METHOD PATH HOST BODY_FILE|- FRESH_AT|- SALT [name=value ...]
-- FRESH_AT is the byte offset of the newest text's placeholder in the body (agent_traffic.py):
-- every request carries there a token of the same width unique to the request, the thread and
-- the run (SALT, a number the driver never repeats), so each request resends the conversation
-- with one new text, like an agent's next call.

local FRESH_WIDTH = 12 -- #agent_traffic.FRESH_MARK
local thread_no = 0

function setup(thread)
  thread:set("tid", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  wrk.method = args[1]
  wrk.path = args[2]
  wrk.headers["Host"] = args[3]
  if args[4] ~= "-" then
    local f = assert(io.open(args[4], "rb"))
    wrk.body = f:read("*a")
    f:close()
  end
  for i = 7, #args do
    local k, v = args[i]:match("^([^=]+)=(.*)$")
    if k then wrk.headers[k] = v end
  end
  if args[5] ~= "-" then
    -- The whole request around the placeholder, built once; each request is one concatenation.
    local at = #wrk.body - tonumber(args[5])
    local whole = wrk.format()
    local salt, sent = tonumber(args[6]) % 1000, 0
    local head, tail = whole:sub(1, #whole - at), whole:sub(#whole - at + FRESH_WIDTH + 1)
    request = function()
      sent = sent + 1
      return head .. string.format("r%03d%x-%06d", salt, (tid or 0) % 16, sent % 1000000) .. tail
    end
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
