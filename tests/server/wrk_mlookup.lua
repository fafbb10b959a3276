-- wrk_mlookup.lua: random PDQ hashes for GET /m/lookup (wrk -s); the key comes from $HW_KEY.
-- wrk -t2 -c32 -d10s -s tests/server/wrk_mlookup.lua http://127.0.0.1:PORT
local key = os.getenv("HW_KEY") or ""
math.randomseed(os.time())
request = function()
    local t = {}
    for i = 1, 8 do
        t[i] = string.format("%08x", math.random(0, 0x7fffffff) * 2 + math.random(0, 1))
    end
    return wrk.format("GET", "/m/lookup?signal_type=pdq&signal=" .. table.concat(t),
                      { ["Authorization"] = "Bearer " .. key })
end
