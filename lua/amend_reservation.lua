-- amend_reservation: resizes an ACTIVE hold. Up needs available funds and an account that takes
-- holds; down is always allowed; never below what was already committed.
-- KEYS[1] account  KEYS[2] reservation  KEYS[3] idempotency record (per amend_id)  KEYS[4] outbox
-- KEYS[5] expiry index
-- ARGV[1] traceparent  ARGV[2] retention s  ARGV[3] outbox bound  ARGV[4] reservation_id
-- ARGV[5] amend_id  ARGV[6] new amount (minor units)  ARGV[7] currency  ARGV[8] parameter hash
-- ARGV[9] event id
-- Replies: OK/REPLAY {account, reservation}; IDEMPOTENCY_CONFLICT, RESERVATION_NOT_FOUND,
-- CURRENCY_MISMATCH, RESERVATION_NOT_ACTIVE, AMEND_BELOW_COMMITTED, ACCOUNT_FROZEN,
-- ACCOUNT_CLOSED, OVERLOADED, AMOUNT_OUT_OF_RANGE, INSUFFICIENT_FUNDS.
local rid, amend_id, new_amt, cur, h = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local seen = idem_lookup(KEYS[3], h)
if seen then
  return seen
end
local r = load_reservation(KEYS[2])
if not r then
  return reservation_not_found(rid)
end
local a = load_account(KEYS[1])
if r.cur ~= cur then
  return currency_mismatch(a, cur)
end
if r.st ~= 'ACTIVE' then
  return reservation_not_active(r)
end
if new_amt < r.com then
  return reject('AMEND_BELOW_COMMITTED', 'new amount ' .. money(new_amt, r.cur) .. ' < committed ' .. money(r.com, r.cur))
end
local delta = new_amt - r.amt
if delta > 0 then
  local blocked = status_reject(a)
  if blocked then
    return blocked
  end
end
local max_len = tonumber(ARGV[3])
if outbox_full(KEYS[4], max_len) then
  return overloaded(max_len)
end
if delta > 0 then
  if not in_range(a.held + delta) then
    return reject('AMOUNT_OUT_OF_RANGE', 'holds would exceed the exact range of ' .. money(MAX_MINOR, r.cur))
  end
  local avail = a.bal - a.held
  if avail - delta < -a.od then
    return reject('INSUFFICIENT_FUNDS', 'available ' .. money(avail, r.cur) .. ' < increase ' .. money(delta, r.cur))
  end
end
a.held = a.held + delta
r.amt = new_amt
-- Amending down to exactly the committed amount leaves nothing to hold: the reservation is done.
if r.amt == r.com then
  r.st = 'COMMITTED'
  redis.call('ZREM', KEYS[5], expiry_member(a.id, rid))
end
emit(KEYS[4], a, now_ms(), { traceparent = ARGV[1], ikey = 'amend:' .. #rid .. ':' .. rid .. ':' .. amend_id, h = h }, {
  id = ARGV[9], type = 'RESERVATION_AMENDED', amt = new_amt, ref = amend_id, res = rid,
  x = '{"new_amount":"' .. s(new_amt) .. '"}',
})
r.aver = a.ver
save_account(KEYS[1], a)
save_reservation(KEYS[2], r)
local reply = reservation_reply(a, r)
idem_store(KEYS[3], h, reply, tonumber(ARGV[2]))
return { 'OK', reply }
