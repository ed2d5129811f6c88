-- release_reservation: gives back what remains of an ACTIVE hold. Releasing a released
-- reservation again is a replay; a committed or expired one cannot be released.
-- KEYS[1] account  KEYS[2] reservation  KEYS[3] expiry index  KEYS[4] outbox
-- ARGV[1] traceparent  ARGV[2] retention s (unused)  ARGV[3] outbox bound  ARGV[4] reservation_id
-- ARGV[5] reason  ARGV[6] event id
-- Replies: OK/REPLAY {account, reservation} (a replay: the original's reply, field 'rel' of the
-- reservation); RESERVATION_NOT_FOUND, RESERVATION_NOT_ACTIVE,
-- OVERLOADED.
local rid = ARGV[4]
local r = load_reservation(KEYS[2])
if not r then
  return reservation_not_found(rid)
end
local a = load_account(KEYS[1])
if r.st == 'RELEASED' then
  -- The reply of the call that released it (the state right after the release, and its events
  -- for a durable acknowledgement); reservations released before it was kept: current state.
  local released = redis.call('HGET', KEYS[2], 'rel')
  if released then
    return { 'REPLAY', released }
  end
  return { 'REPLAY', reservation_replay(a, r) }
end
if r.st ~= 'ACTIVE' then
  return reservation_not_active(r)
end
local max_len = tonumber(ARGV[3])
if outbox_full(KEYS[4], max_len) then
  return overloaded(max_len)
end
release_remainder(KEYS[1], KEYS[2], KEYS[3], KEYS[4], a, r, now_ms(),
  { traceparent = ARGV[1], ikey = 'release:' .. rid }, 'RESERVATION_RELEASED', ARGV[6], rid, ARGV[5])
local reply = reservation_reply(a, r)
-- Kept with the reservation (as long as Redis holds it): a replay answers exactly this.
redis.call('HSET', KEYS[2], 'rel', reply)
return { 'OK', reply }
