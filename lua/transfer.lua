-- transfer: debits one account and credits another, all or nothing, as two events that share
-- the transaction_id. On a single Redis one script takes both accounts; on Redis Cluster the two
-- accounts may live in different slots and this becomes a saga (see the scale-out issue).
-- KEYS[1] source account  KEYS[2] destination account  KEYS[3] idempotency record (source bucket)
-- KEYS[4] source outbox  KEYS[5] destination outbox
-- ARGV[1] traceparent  ARGV[2] retention s  ARGV[3] outbox bound  ARGV[4] transaction_id
-- ARGV[5] amount (minor units)  ARGV[6] currency  ARGV[7] metadata json  ARGV[8] parameter hash
-- ARGV[9] debit event id  ARGV[10] credit event id
-- Replies: OK/REPLAY {account = source, to = destination}; IDEMPOTENCY_CONFLICT,
-- ACCOUNT_NOT_FOUND, CURRENCY_MISMATCH, ACCOUNT_CLOSED, ACCOUNT_FROZEN, OVERLOADED,
-- AMOUNT_OUT_OF_RANGE, INSUFFICIENT_FUNDS.
local tx, amt, cur, h = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[8]
local seen = idem_lookup(KEYS[3], h)
if seen then
  return seen
end
local from = load_account(KEYS[1])
if not from then
  return not_found(KEYS[1]:match(':acct:(.*)$'))
end
local to = load_account(KEYS[2])
if not to then
  return not_found(KEYS[2]:match(':acct:(.*)$'))
end
if from.cur ~= cur then
  return currency_mismatch(from, cur)
end
if to.cur ~= cur then
  return currency_mismatch(to, cur)
end
local blocked = status_reject(from)
if blocked then
  return blocked
end
if to.st == 'CLOSED' then
  return status_reject(to)
end
local max_len = tonumber(ARGV[3])
if outbox_full(KEYS[4], max_len) or outbox_full(KEYS[5], max_len) then
  return overloaded(max_len)
end
if not in_range(from.bal - amt) or not in_range(to.bal + amt) then
  return reject('AMOUNT_OUT_OF_RANGE', 'a balance would leave the exact range of ' .. money(MAX_MINOR, cur))
end
local avail = from.bal - from.held
if avail - amt < -from.od then
  return reject('INSUFFICIENT_FUNDS', 'available ' .. money(avail, cur) .. ' < ' .. money(amt, cur))
end
local ts = now_ms()
local ctx = { traceparent = ARGV[1], ikey = 'tx:' .. tx, h = h }
from.bal = from.bal - amt
emit(KEYS[4], from, ts, ctx, {
  id = ARGV[9], type = 'TRANSFER_DEBITED', amt = amt, ref = tx, cp = to.id, meta = ARGV[7],
})
to.bal = to.bal + amt
emit(KEYS[5], to, ts, ctx, {
  id = ARGV[10], type = 'TRANSFER_CREDITED', amt = amt, ref = tx, cp = from.id, meta = ARGV[7],
})
save_account(KEYS[1], from)
save_account(KEYS[2], to)
local reply = reply_json({ account = account_view(from), to = account_view(to) })
idem_store(KEYS[3], h, reply, tonumber(ARGV[2]))
return { 'OK', reply }
