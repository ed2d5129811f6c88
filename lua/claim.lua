-- claim: binds a client id (transaction_id or reservation_id) to the account it was first used
-- on, before the account's own script runs. The claim key lives in the id's bucket, the account
-- script's keys in the account's bucket, so every script touches one hash tag only.
-- The value is "<kind>|<account_id>|<nonce>"; a call that finds the id bound to the same account
-- stamps its own nonce, so that an earlier call's unclaim (after a reject) cannot remove a claim
-- a later call relies on.
-- KEYS[1] claim key   ARGV[1] "<kind>|<account_id>|"   ARGV[2] nonce   ARGV[3] ttl seconds, 0 = keep
-- Reply: {owner "<kind>|<account_id>|" now bound to the id, 1 if this call created the claim else 0}.
local existing = redis.call('GET', KEYS[1])
local value = ARGV[1] .. ARGV[2]
if existing then
  local owner = string.match(existing, '^(.*|)[^|]*$')
  if owner == ARGV[1] then
    redis.call('SET', KEYS[1], value, 'KEEPTTL')
  end
  return { owner, 0 }
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], value, 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], value)
end
return { ARGV[1], 1 }
