-- The baseline's whole Reserve: what any ledger must do in Redis for one hold, and nothing more.
-- KEYS[1] account hash  KEYS[2] reservation hash  KEYS[3] outbox stream
-- ARGV[1] reservation id  ARGV[2] amount (minor units)  ARGV[3] currency  ARGV[4] account id
-- Reply: {status, balance, held, version}; status OK, REPLAY or a reject reason.
local replay = redis.call('HMGET', KEYS[2], 'amt', 'acct')
if replay[1] then
  local a = redis.call('HMGET', KEYS[1], 'bal', 'held', 'ver')
  return { 'REPLAY', a[1], a[2], a[3] }
end
local a = redis.call('HMGET', KEYS[1], 'bal', 'held', 'cur')
if not a[1] then
  return { 'ACCOUNT_NOT_FOUND' }
end
if a[3] ~= ARGV[3] then
  return { 'CURRENCY_MISMATCH' }
end
local amt = tonumber(ARGV[2])
if tonumber(a[1]) - tonumber(a[2]) < amt then
  return { 'INSUFFICIENT_FUNDS' }
end
local held = redis.call('HINCRBY', KEYS[1], 'held', amt)
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[2], 'acct', ARGV[4], 'amt', ARGV[2], 'st', 'ACTIVE', 'aver', ver)
redis.call('XADD', KEYS[3], '*', 'type', 'FUNDS_RESERVED', 'acct', ARGV[4], 'res', ARGV[1], 'amt', ARGV[2],
  'ver', ver)
return { 'OK', a[1], tostring(held), tostring(ver) }
