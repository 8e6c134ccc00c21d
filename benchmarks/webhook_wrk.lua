-- wrk script for benchmarks/webhook_bench.py: replays pre-signed Linear deliveries.
--
-- wrk's Lua has no HMAC, so webhook_bench.py writes every request beforehand, one a
-- line: "delivery-id<TAB>signature<TAB>body". Thread i of n sends lines i, i+n, i+2n, ...
-- and starts over at the end of the file (a repeat is a duplicate delivery). Each
-- response's `status` field is counted per thread; done() prints one JSON line with
-- the counts, the latency percentiles (microseconds) and wrk's error counters.
-- Usage: wrk -t N -c C -d S -s webhook_wrk.lua URL -- REQUESTS_FILE N

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local delivery, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    table.insert(requests, wrk.format("POST", "/webhooks/linear", {
      ["Content-Type"] = "application/json; charset=utf-8",
      ["User-Agent"] = "Linear-Webhook",
      ["Linear-Event"] = "Issue",
      ["Linear-Delivery"] = delivery,
      ["Linear-Signature"] = signature,
    }, body))
  end
  step = tonumber(args[2])
  position = id + 1
  outcomes = {}
end

function request()
  local req = requests[position]
  position = position + step
  if position > #requests then
    position = id + 1
  end
  return req
end

function response(status, headers, body)
  local outcome = body:match('"status"%s*:%s*"([%w_]+)"') or ("http_" .. status)
  outcomes[outcome] = (outcomes[outcome] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("outcomes")
    for outcome, count in pairs(counts) do
      totals[outcome] = (totals[outcome] or 0) + count
    end
  end
  local parts = {}
  for outcome, count in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', outcome, count))
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"outcomes": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    table.concat(parts, ", ")))
end
