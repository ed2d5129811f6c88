-- expire_reservation: called by the expiry sweeper for a reservation whose expires_at has
-- passed; releases the remainder with a RESERVATION_EXPIRED event. Safe to call twice or from
-- several service instances at once: only an ACTIVE, due reservation changes. Expiry is not
-- refused by a full outbox: it only gives funds back and must not be starved.
-- KEYS[1] account  KEYS[2] reservation  KEYS[3] expiry index  KEYS[4] outbox
-- ARGV[1] traceparent  ARGV[2] reservation_id  ARGV[3] event id  ARGV[4] expiry index member
-- Replies: {'OK', reply} when it expired the hold, {'SKIP', state} when there was nothing to do.
local rid = ARGV[2]
local r = load_reservation(KEYS[2])
if not r then
  redis.call('ZREM', KEYS[3], ARGV[4])
  return { 'SKIP', 'missing' }
end
local ts = now_ms()
if r.st ~= 'ACTIVE' or r.exp == 0 or r.exp > ts then
  if r.st ~= 'ACTIVE' then
    redis.call('ZREM', KEYS[3], ARGV[4])
  end
  return { 'SKIP', r.st }
end
local a = load_account(KEYS[1])
release_remainder(KEYS[1], KEYS[2], KEYS[3], KEYS[4], a, r, ts,
  { traceparent = ARGV[1], ikey = 'expire:' .. rid }, 'RESERVATION_EXPIRED', ARGV[3], rid, 'expired')
return { 'OK', reservation_reply(a, r) }
