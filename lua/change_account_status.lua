-- change_account_status: freeze, unfreeze or close. Asking for the status the account already
-- has is a replay (no event). Closed is terminal and needs zero balance and no holds.
-- KEYS[1] account  KEYS[2] outbox
-- ARGV[1] traceparent  ARGV[2] retention s (unused)  ARGV[3] outbox bound
-- ARGV[4] target status (OPEN|FROZEN|CLOSED)  ARGV[5] reason  ARGV[6] event id  ARGV[7] account_id
-- Replies: OK/REPLAY {account}; ACCOUNT_NOT_FOUND, ACCOUNT_CLOSED, ACCOUNT_NOT_EMPTY, OVERLOADED.
local target = ARGV[4]
local a = load_account(KEYS[1])
if not a then
  return not_found(ARGV[7])
end
if a.st == target then
  return { 'REPLAY', replay_json({ account = account_view(a) }, a) }
end
if a.st == 'CLOSED' then
  return status_reject(a)
end
if target == 'CLOSED' and (a.bal ~= 0 or a.held ~= 0) then
  return reject('ACCOUNT_NOT_EMPTY', 'balance ' .. money(a.bal, a.cur) .. ', held ' .. money(a.held, a.cur))
end
local max_len = tonumber(ARGV[3])
if outbox_full(KEYS[2], max_len) then
  return overloaded(max_len)
end
local types = { OPEN = 'ACCOUNT_UNFROZEN', FROZEN = 'ACCOUNT_FROZEN', CLOSED = 'ACCOUNT_CLOSED' }
a.st = target
emit(KEYS[2], a, now_ms(), { traceparent = ARGV[1], ikey = 'status:' .. a.id .. ':' .. s(a.ver + 1) }, {
  id = ARGV[6], type = types[target], x = cjson.encode({ reason = ARGV[5] }),
})
save_account(KEYS[1], a)
return { 'OK', reply_json({ account = account_view(a) }) }
