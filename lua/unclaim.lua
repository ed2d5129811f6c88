-- unclaim: undoes a claim this call created when the account's script then rejected the call
-- (nothing was written, so the id must stay usable). Only if no later call stamped the claim.
-- KEYS[1] claim key   ARGV[1] the exact value this call set ("<kind>|<account_id>|<nonce>")
-- Reply: 1 if removed, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
