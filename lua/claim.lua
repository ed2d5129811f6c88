-- claim: binds a client id (transaction_id or reservation_id) to the account it was first used
-- on, before the account's own script runs. The claim key lives in the id's bucket, the account
-- script's keys in the account's bucket, so every script touches one hash tag only.
-- KEYS[1] claim key            ARGV[1] value "<kind>|<account_id>"   ARGV[2] ttl seconds, 0 = keep
-- Reply: the value now bound to the id (equal to ARGV[1] unless the id was claimed before).
local existing = redis.call('GET', KEYS[1])
if existing then
  return existing
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return ARGV[1]
