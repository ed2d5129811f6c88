-- open_account: creates an account; the account_id is the idempotency key.
-- KEYS[1] account   KEYS[2] outbox
-- ARGV[1] traceparent  ARGV[2] retention s (unused)  ARGV[3] outbox bound  ARGV[4] account_id
-- ARGV[5] currency  ARGV[6] overdraft limit (minor units)  ARGV[7] metadata json
-- ARGV[8] parameter hash  ARGV[9] event id
-- Replies: OK/REPLAY {account}; ACCOUNT_EXISTS, OVERLOADED.
local id, cur, od, meta, h = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local a = load_account(KEYS[1])
if a then
  if a.h ~= h then
    return reject('ACCOUNT_EXISTS', 'account ' .. id .. ' exists with a different currency, limit or metadata')
  end
  return { 'REPLAY', replay_json({ account = account_view(a) }, a) }
end
local max_len = tonumber(ARGV[3])
if outbox_full(KEYS[2], max_len) then
  return overloaded(max_len)
end
local ts = now_ms()
a = { id = id, cur = cur, st = 'OPEN', bal = 0, held = 0, od = od, ver = 0, opened = s(ts), meta = meta, h = h }
emit(KEYS[2], a, ts, { traceparent = ARGV[1], ikey = 'open:' .. id, h = h }, {
  id = ARGV[9], type = 'ACCOUNT_OPENED', meta = meta, x = '{"overdraft_limit":"' .. s(od) .. '"}',
})
redis.call('HSET', KEYS[1], 'id', id, 'cur', cur, 'od', s(od), 'opened', a.opened, 'meta', meta, 'h', h)
save_account(KEYS[1], a)
return { 'OK', reply_json({ account = account_view(a) }) }
