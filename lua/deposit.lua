-- deposit: credits an account. Frozen accounts take credits; closed ones take nothing.
-- KEYS[1] account  KEYS[2] idempotency record  KEYS[3] outbox
-- ARGV[1] traceparent  ARGV[2] retention s  ARGV[3] outbox bound  ARGV[4] transaction_id
-- ARGV[5] amount (minor units)  ARGV[6] currency  ARGV[7] metadata json  ARGV[8] parameter hash
-- ARGV[9] event id
-- Replies: OK/REPLAY {account}; IDEMPOTENCY_CONFLICT, ACCOUNT_NOT_FOUND, CURRENCY_MISMATCH,
-- ACCOUNT_CLOSED, OVERLOADED, AMOUNT_OUT_OF_RANGE.
local tx, amt, cur, h = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[8]
local seen = idem_lookup(KEYS[2], h)
if seen then
  return seen
end
local a = load_account(KEYS[1])
local refused = account_guard(a, KEYS[1]:match(':acct:(.*)$'), cur, KEYS[3], tonumber(ARGV[3]), true)
if refused then
  return refused
end
if not in_range(a.bal + amt) then
  return reject('AMOUNT_OUT_OF_RANGE', 'balance would exceed the exact range of ' .. money(MAX_MINOR, a.cur))
end
a.bal = a.bal + amt
emit(KEYS[3], a, now_ms(), { traceparent = ARGV[1], ikey = 'tx:' .. tx, h = h }, {
  id = ARGV[9], type = 'FUNDS_DEPOSITED', amt = amt, ref = tx, meta = ARGV[7],
})
save_account(KEYS[1], a)
local reply = reply_json({ account = account_view(a) })
idem_store(KEYS[2], h, reply, tonumber(ARGV[2]))
return { 'OK', reply }
