-- bench/guard/assertions.lua: one fresh Tollgate-Assertion per request (single use).
-- usage: wrk -tN ... -s assertions.lua URL -- FILE N [HOST]
-- FILE has one compact JWS per line; thread i of n sends lines i, i+n, i+2n, ...
-- When a thread runs out it sends an empty assertion (refused: counted as non-2xx).
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2]) or 1
  local host = args[3]
  local mine = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then mine[#mine + 1] = line end
    i = i + 1
  end
  tokens = mine
  next_token = 1
  hdrs = {}
  if host and host ~= "" then hdrs["Host"] = host end
end

function request()
  local t = tokens[next_token] or ""
  next_token = next_token + 1
  hdrs["Tollgate-Assertion"] = t
  return wrk.format("GET", wrk.path, hdrs)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
