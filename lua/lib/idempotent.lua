-- idempotent: the loader (src/infrastructure/redis/lua-scripts.ts) wraps each script that takes a
-- client id (deposit, withdraw, transfer, reserve, amend/commit_reservation, open_account) into
-- one atomic call: the id claim, the "was this id ever used?" check and the account step run in
-- one script, one round trip. The script's own source becomes the function `body` below; its
-- KEYS and ARGV indexes are unchanged because everything of this wrapper comes after them.
--
-- Appended KEYS (last four): claim key (the id's binding to its account; ignored without an
-- owner), id filter, id filter ready marker, the call's replay record (or the key whose presence
-- means Redis can answer the id itself, e.g. the account for open_account).
-- Appended ARGV: claim owner "<kind>|<account_id>|" ('' = no claim), nonce, claim ttl s (0 =
-- keep), prior checked ('1': the caller looked the id up in the event store and it was not
-- there), the id's filter bit positions, and last the number of these appended arguments.
--
-- The id filter is a Bloom filter of every idempotency key that ever produced events (kept in
-- the event store forever; Redis keeps replay records only for the retention). A bit that is
-- clear proves the id new, so a new id costs no event store lookup; "maybe seen" (all bits set,
-- or the filter not rebuilt yet after Redis lost it: no ready marker) answers CHECK_PRIOR and
-- changes nothing, and the caller asks the event store, then calls again with prior checked.
-- Bits are set only when the call is applied, so rejects do not fill the filter.
-- Extra reply: {'CHECK_PRIOR', ''}.
local wrapper_nk, wrapper_na = #KEYS, #ARGV
local wrapper_first = wrapper_na - tonumber(ARGV[wrapper_na])
local claim_key, filter_key, ready_key, record_key =
  KEYS[wrapper_nk - 3], KEYS[wrapper_nk - 2], KEYS[wrapper_nk - 1], KEYS[wrapper_nk]
local claim_owner, claim_nonce = ARGV[wrapper_first + 1], ARGV[wrapper_first + 2]
local claim_ttl, prior_checked = tonumber(ARGV[wrapper_first + 3]), ARGV[wrapper_first + 4]
local first_bit, last_bit = wrapper_first + 5, wrapper_na - 1

-- The claim is taken (SET NX) and read (GET) in one command (Redis >= 7.0): a redis.call costs
-- more here than most of the script's own work. `claimed`: this call set it, and takes it back
-- if the call ends up changing nothing.
local bound = nil
local claimed = false
if claim_owner ~= '' then
  local existing
  if claim_ttl > 0 then
    existing = redis.call('SET', claim_key, claim_owner .. claim_nonce, 'NX', 'GET', 'EX', claim_ttl)
  else
    existing = redis.call('SET', claim_key, claim_owner .. claim_nonce, 'NX', 'GET')
  end
  if existing then
    bound = string.match(existing, '^(.*|)[^|]*$')
    if bound ~= claim_owner then
      local id = string.match(claim_key, ':claim:[^:]+:(.*)$') or '?'
      return reject('IDEMPOTENCY_CONFLICT', 'id ' .. id .. ' was already used on another account')
    end
  else
    claimed = true
  end
end

-- One BITFIELD for all of the id's bits (GET or SET u1 at each position): one command, not k.
local function filter_bits(op)
  local args = {}
  for i = first_bit, last_bit do
    args[#args + 1] = op
    args[#args + 1] = 'u1'
    args[#args + 1] = ARGV[i]
    if op == 'SET' then
      args[#args + 1] = 1
    end
  end
  return redis.call('BITFIELD', filter_key, unpack(args))
end

-- "Maybe seen" and no record Redis can answer from: ask the event store first. The filter is
-- looked at before the record, since a new id (the common case) is settled by the filter alone.
if prior_checked ~= '1' then
  local maybe_seen = redis.call('EXISTS', ready_key) == 0
  if not maybe_seen then
    maybe_seen = true
    for _, bit in ipairs(filter_bits('GET')) do
      if bit == 0 then
        maybe_seen = false
        break
      end
    end
  end
  if maybe_seen and redis.call('EXISTS', record_key) == 0 then
    if claimed then
      redis.call('DEL', claim_key)
    end
    return { 'CHECK_PRIOR', '' }
  end
  -- Proved new: every id that produced events has its bits set (in the same script), and a
  -- claim this call took was nobody's, so there is nothing under it to answer from. A claim
  -- found already bound to this account (a call that stopped half way) does not count.
  ID_IS_NEW = not maybe_seen and (claimed or claim_owner == '')
end

local result = body()
if result[1] == 'OK' then
  filter_bits('SET')
elseif claimed and result[1] ~= 'REPLAY' then
  -- Rejected: nothing was written, so the id stays free (e.g. after a typo in the account id).
  redis.call('DEL', claim_key)
end
return result
