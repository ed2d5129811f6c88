-- commit_reservation: consumes part or all of an ACTIVE hold (an order fill), debiting the
-- balance. `final` releases whatever remains after this fill as a second event.
-- KEYS[1] account  KEYS[2] reservation  KEYS[3] idempotency record (per commit_id)
-- KEYS[4] expiry index  KEYS[5] outbox
-- ARGV[1] traceparent  ARGV[2] retention s  ARGV[3] outbox bound  ARGV[4] reservation_id
-- ARGV[5] commit_id  ARGV[6] amount (minor units)  ARGV[7] currency  ARGV[8] final ('1'/'0')
-- ARGV[9] parameter hash  ARGV[10] commit event id  ARGV[11] release event id
-- Replies: OK/REPLAY {account, reservation}; IDEMPOTENCY_CONFLICT, RESERVATION_NOT_FOUND,
-- CURRENCY_MISMATCH, RESERVATION_NOT_ACTIVE, ACCOUNT_FROZEN, OVERLOADED,
-- COMMIT_EXCEEDS_RESERVATION, AMOUNT_OUT_OF_RANGE.
local rid, commit_id, amt, cur, final, h = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8] == '1', ARGV[9]
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
-- A commit debits the posted balance: a frozen account takes no debits.
local blocked = status_reject(a)
if blocked then
  return blocked
end
local rest = r.amt - r.com
if amt > rest then
  return reject('COMMIT_EXCEEDS_RESERVATION', 'commit ' .. money(amt, r.cur) .. ' > remaining ' .. money(rest, r.cur))
end
local max_len = tonumber(ARGV[3])
if outbox_full(KEYS[5], max_len) then
  return overloaded(max_len)
end
if not in_range(a.bal - amt) then
  return reject('AMOUNT_OUT_OF_RANGE', 'balance would leave the exact range of ' .. money(MAX_MINOR, r.cur))
end
local ts = now_ms()
local ctx = { traceparent = ARGV[1], ikey = 'commit:' .. #rid .. ':' .. rid .. ':' .. commit_id, h = h }
r.com = r.com + amt
a.held = a.held - amt
a.bal = a.bal - amt
if r.com == r.amt then
  r.st = 'COMMITTED'
  redis.call('ZREM', KEYS[4], expiry_member(a.id, rid))
end
emit(KEYS[5], a, ts, ctx, {
  id = ARGV[10], type = 'RESERVATION_COMMITTED', amt = amt, ref = commit_id, res = rid,
  x = final and '{"final":true}' or '{"final":false}',
})
r.aver = a.ver
if final and r.st == 'ACTIVE' then
  release_remainder(KEYS[1], KEYS[2], KEYS[4], KEYS[5], a, r, ts, ctx, 'RESERVATION_RELEASED', ARGV[11], commit_id, 'final commit')
else
  save_account(KEYS[1], a)
  save_reservation(KEYS[2], r)
end
local reply = reservation_reply(a, r)
idem_store(KEYS[3], h, reply, tonumber(ARGV[2]))
if r.st == 'RELEASED' then
  -- A ReleaseReservation of it later is a replay of this call's release (release_reservation.lua).
  redis.call('HSET', KEYS[2], 'rel', reply)
end
return { 'OK', reply }
