-- wrk script: each thread (one connection each) sends its own pre-signed bodies, in order,
-- never repeating one, and remembers which were answered 200. With one connection per
-- thread, requests and responses alternate, so the answered body is the last one sent.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  local file = assert(io.open(os.getenv("BENCH_BODIES") .. "/" .. tid .. ".txt", "r"))
  for line in file:lines() do
    local signature, body = line:match("^(%S+)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", "/webhook",
      {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = signature}, body)
  end
  file:close()
  sent, last, acked, exhausted = 0, 0, {}, 0
end

-- Once a thread has sent all its bodies it goes quiet until wrk stops (a minute's delay is
-- past any run): requests of no use would only take CPU from what the target still does
-- (the portal's drain).
function delay()
  if sent >= #reqs then
    exhausted = 1
    return 60000
  end
  return 0
end

function request()
  sent = sent + 1
  if sent > #reqs then  -- not reached while delay() holds the thread back
    last = 0
    return wrk.format("GET", "/webhook?bench=exhausted")
  end
  last = sent
  return reqs[sent]
end

function response(status, headers, body)
  if status == 200 and last > 0 then
    acked[#acked + 1] = last
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  local e = summary.errors
  out:write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
  out:write(string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "threads": [',
    e.connect, e.read, e.write, e.status, e.timeout))
  for n, thread in ipairs(threads) do
    local list = thread:get("acked")
    local ids = {}
    for k = 1, #list do ids[k] = tostring(list[k]) end
    out:write(string.format('%s{"tid": %d, "exhausted": %d, "acked": [%s]}', n > 1 and ", " or "",
      thread:get("tid"), thread:get("exhausted"), table.concat(ids, ",")))
  end
  out:write("]}\n")
  out:close()
end
