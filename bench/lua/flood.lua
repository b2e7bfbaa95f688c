-- (e) the attacker beside the valid traffic: GET /api/tags with keys that are wrong, paced by
-- delay() to a target rate. BENCH_FLOOD_KEYS is a comma-separated list mixing checksum-invalid
-- keys (refused before any lookup) and checksum-valid keys with unknown ids (one cache lookup +
-- hash). Each request also claims a random X-Forwarded-For address; only a proxy configured to
-- trust the sender believes it (Warden's "distributed flood" variant), the others ignore it.
local keys = {}
for k in string.gmatch(os.getenv("BENCH_FLOOD_KEYS") or "", "[^,]+") do keys[#keys + 1] = k end
local pause = tonumber(os.getenv("BENCH_FLOOD_DELAY_MS") or "0")
local n = 0

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

function delay()
  return pause
end

function request()
  n = n + 1
  local key = keys[(n % #keys) + 1]
  local xff = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format("GET", "/api/tags", { ["Authorization"] = "Bearer " .. key, ["X-Forwarded-For"] = xff })
end
