-- GET /domains/d<n>.example for random n below DOMAINS.
local domains = tonumber(os.getenv("DOMAINS") or "10000000")
request = function()
  return wrk.format("GET", string.format("/domains/d%d.example", math.random(0, domains - 1)))
end
