-- restore_account: writes an account rebuilt from the event store (snapshot + later events) back
-- into Redis, with its active reservations and their expiry entries. Only if the account is
-- missing: concurrent restores of one account are harmless, and live state is never overwritten.
-- KEYS[1] account  KEYS[2] expiry index  KEYS[3..] reservation keys, in the order of ARGV[2]
-- ARGV[1] account json {id, cur, st, bal, held, od, ver, opened, meta, h}
-- ARGV[2] reservations json [{id, acct, cur, amt, com, st, oid, exp, aver, h}, ...]
-- Reply: 'RESTORED' or 'EXISTS'.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'EXISTS'
end
local a = cjson.decode(ARGV[1])
redis.call('HSET', KEYS[1], 'id', a.id, 'cur', a.cur, 'st', a.st, 'bal', a.bal, 'held', a.held, 'od', a.od,
  'ver', a.ver, 'opened', a.opened, 'meta', a.meta, 'h', a.h)
local reservations = cjson.decode(ARGV[2])
for i, r in ipairs(reservations) do
  redis.call('HSET', KEYS[2 + i], 'id', r.id, 'acct', r.acct, 'cur', r.cur, 'amt', r.amt, 'com', r.com, 'st', r.st,
    'oid', r.oid, 'exp', r.exp, 'aver', r.aver, 'h', r.h)
  if r.st == 'ACTIVE' and tonumber(r.exp) > 0 then
    redis.call('ZADD', KEYS[2], tonumber(r.exp), expiry_member(a.id, r.id))
  end
end
return 'RESTORED'
