-- NDJSON batches of 100 domain events over DOMAINS distinct domains (d<n>.example, for
-- wrk with 2 threads),
-- 1 in 50 a bounce. With PACE_MS set, each connection waits that long between requests,
-- which fixes the rate at about connections × 100 × 1000 / PACE_MS events/s.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
local domains = tonumber(os.getenv("DOMAINS") or "10000000")
local pace = tonumber(os.getenv("PACE_MS") or "0")
local next_domain = 0
local threads = 0

-- Threads start at equal distances apart, so the first DOMAINS events are all distinct.
function setup(thread)
  thread:set("offset", threads * math.floor(domains / 2))
  threads = threads + 1
end

request = function()
  local lines = {}
  for i = 1, 100 do
    local n = (offset + next_domain) % domains
    next_domain = next_domain + 1
    local kind = (n % 50 == 0) and "bounced" or "delivered"
    lines[i] = string.format('{"domain":"d%d.example","type":"%s"}', n, kind)
  end
  return wrk.format(nil, nil, nil, table.concat(lines, "\n"))
end

function delay()
  return pace
end
