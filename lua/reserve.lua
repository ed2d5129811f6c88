-- reserve: holds funds for an order. The reservation_id is the idempotency key.
-- KEYS[1] account  KEYS[2] reservation  KEYS[3] idempotency record  KEYS[4] expiry index
-- KEYS[5] outbox
-- ARGV[1] traceparent  ARGV[2] retention s  ARGV[3] outbox bound  ARGV[4] reservation_id
-- ARGV[5] amount (minor units)  ARGV[6] currency  ARGV[7] order_id  ARGV[8] ttl s (0 = none)
-- ARGV[9] parameter hash  ARGV[10] event id  ARGV[11] account_id
-- Replies: OK/REPLAY {account, reservation}; IDEMPOTENCY_CONFLICT, ACCOUNT_NOT_FOUND,
-- CURRENCY_MISMATCH, ACCOUNT_CLOSED, ACCOUNT_FROZEN, OVERLOADED, AMOUNT_OUT_OF_RANGE,
-- INSUFFICIENT_FUNDS.
local rid, amt, cur, oid, ttl, h = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9]
local seen = idem_lookup(KEYS[3], h)
if seen then
  return seen
end
local a = load_account(KEYS[1])
local existing = nil
if not ID_IS_NEW then
  existing = load_reservation(KEYS[2])
end
if existing then
  -- The replay record has expired but the reservation is still here: answer from its state.
  if existing.h ~= h or not a then
    return reject('IDEMPOTENCY_CONFLICT', 'reservation ' .. rid .. ' exists with different parameters')
  end
  return { 'REPLAY', reservation_replay(a, existing) }
end
local refused = account_guard(a, ARGV[11], cur, KEYS[5], tonumber(ARGV[3]), false)
if refused then
  return refused
end
if not in_range(a.held + amt) then
  return reject('AMOUNT_OUT_OF_RANGE', 'holds would exceed the exact range of ' .. money(MAX_MINOR, a.cur))
end
local avail = a.bal - a.held
if avail - amt < -a.od then
  return reject('INSUFFICIENT_FUNDS', 'available ' .. money(avail, a.cur) .. ' < ' .. money(amt, a.cur))
end
local ts = now_ms()
local exp = 0
if ttl > 0 then
  exp = ts + ttl * 1000
end
a.held = a.held + amt
emit(KEYS[5], a, ts, { traceparent = ARGV[1], ikey = 'res:' .. rid, h = h }, {
  id = ARGV[10], type = 'FUNDS_RESERVED', amt = amt, ref = rid, res = rid,
  x = '{"order_id":' .. cjson.encode(oid) .. ',"expires_at_ms":"' .. s(exp) .. '"}',
})
local r = { id = rid, acct = a.id, cur = cur, amt = amt, com = 0, st = 'ACTIVE', oid = oid, exp = exp, aver = a.ver, h = h }
save_account(KEYS[1], a)
save_reservation(KEYS[2], r)
if exp > 0 then
  redis.call('ZADD', KEYS[4], exp, expiry_member(a.id, rid))
end
local reply = reservation_reply(a, r)
idem_store(KEYS[3], h, reply, tonumber(ARGV[2]))
return { 'OK', reply }
