-- NDJSON batches of 100 frames of ~2 KB for the unique-users processor: 19-hex-digit
-- uids from a pool of about a million users, ts advancing 5,000 frames per simulated
-- second per wrk thread with up to 3 s of disorder, and a nested object that reuses
-- the names uid and ts with other types (only the top-level fields count).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
local filler = string.rep("x", 1900)
local base = 1468244340
local counter = 0

function setup(thread)
  math.randomseed(os.time() + tonumber(tostring(thread):match("0x(%x+)") or "0", 16) % 100000)
end

request = function()
  local frames = {}
  for i = 1, 100 do
    local ts = base + math.floor(counter / 5000) - math.random(0, 3)
    counter = counter + 1
    local uid = string.format("%03x%016x", math.random(0, 15), math.random(0, 65535))
    frames[i] = string.format('{"uid":"%s","ts":%d,"meta":{"uid":%d,"ts":"late"},"filler":"%s"}', uid, ts, i, filler)
  end
  return wrk.format(nil, nil, nil, table.concat(frames, "\n"))
end
