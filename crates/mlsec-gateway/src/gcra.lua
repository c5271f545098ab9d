-- mlsec gateway: check and take from every limit counter of one request, atomically.
--
-- ARGV[1]: 1 = check every counter and take from all of them only when all
-- admit; 0 = charge without checking (tokens, once an answer has counted them).
-- Then four arguments per key: kind, a, b, cost.
--   kind "r" (GCRA): a = emission interval in microseconds per unit,
--                    b = capacity in microseconds, cost = units taken.
--   kind "d" (count per UTC day): a = the day's limit (the key names the day).
-- Time is Redis's own clock, so every replica agrees on it.
-- Returns {refused, retry_us, then remaining, reset_us for each key}, where
-- refused is 0 or the 1-based index of the first key that refused.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local mode = tonumber(ARGV[1])
local day = 86400000000
local out = {0, 0}
local writes = {}
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 4
  local kind = ARGV[base + 1]
  local a = tonumber(ARGV[base + 2])
  local b = tonumber(ARGV[base + 3])
  local cost = tonumber(ARGV[base + 4])
  if kind == 'r' then
    local tat = tonumber(redis.call('GET', key)) or now
    if tat < now then tat = now end
    local new_tat = tat + a * cost
    local ahead = new_tat - now
    if mode == 1 and ahead > b and out[1] == 0 then
      out[1] = i
      out[2] = ahead - b
    end
    out[#out + 1] = math.floor((b - ahead) / a)
    out[#out + 1] = math.floor(ahead)
    writes[#writes + 1] = {key, 'r', math.floor(new_tat), ahead}
  else
    local used = tonumber(redis.call('GET', key)) or 0
    if mode == 1 and used >= a and out[1] == 0 then
      out[1] = i
      out[2] = day - (now % day)
    end
    out[#out + 1] = a - used - 1
    out[#out + 1] = 0
    writes[#writes + 1] = {key, 'd'}
  end
end
if out[1] == 0 then
  for _, w in ipairs(writes) do
    if w[2] == 'r' then
      redis.call('SET', w[1], string.format('%.0f', w[3]), 'PX', math.max(1, math.ceil(w[4] / 1000)))
    elseif redis.call('INCR', w[1]) == 1 then
      redis.call('EXPIRE', w[1], 90000)
    end
  end
end
return out
