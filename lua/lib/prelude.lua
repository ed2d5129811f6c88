-- Shared helpers, prepended by the loader (src/infrastructure/redis/lua-scripts.ts) to every
-- script under lua/. Redis Lua numbers are doubles: every amount, balance and hold is kept within
-- +-(2^53-1) minor units so that arithmetic stays exact. Numbers leave a script as strings
-- ('%.0f'), never through cjson, which would round them to 14 digits.
--
-- Every script replies with a two-element array {status, body}:
--   {'OK', reply_json}      the operation was applied; reply_json is stored for replays
--   {'REPLAY', reply_json}  the same idempotency key with the same parameters was seen before
--   {REASON, detail}        a business reject (REASON is an ErrorReason of the contract); detail
--                           may hold {m:N:CUR} placeholders that the caller renders as money.
local MAX_MINOR = 9007199254740991

local function s(n)
  return string.format('%.0f', n)
end

-- A money amount in a reject detail; the caller renders {m:N:CUR} as a decimal of CUR's scale.
local function money(n, cur)
  return '{m:' .. s(n) .. ':' .. cur .. '}'
end

local function reject(reason, detail)
  return { reason, detail }
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function in_range(n)
  return n <= MAX_MINOR and n >= -MAX_MINOR
end

-- lev: id of the account's last event, so that a replay answered from current state can still be
-- held back until that event is durable. The TypeScript side names these fields (and
-- RESERVATION_FIELDS) in src/infrastructure/redis/hash-codec.ts; a unit test keeps them equal.
local ACCOUNT_FIELDS = { 'id', 'cur', 'st', 'bal', 'held', 'od', 'ver', 'opened', 'meta', 'h', 'lev' }

local function load_account(key)
  local v = redis.call('HMGET', key, unpack(ACCOUNT_FIELDS))
  if not v[1] then
    return nil
  end
  return {
    id = v[1], cur = v[2], st = v[3], bal = tonumber(v[4]), held = tonumber(v[5]),
    od = tonumber(v[6]), ver = tonumber(v[7]), opened = v[8], meta = v[9], h = v[10], lev = v[11] or '',
  }
end

local function save_account(key, a)
  redis.call('HSET', key, 'st', a.st, 'bal', s(a.bal), 'held', s(a.held), 'ver', s(a.ver), 'lev', a.lev or '')
end

-- Ids of the events this script appended, in order: the reply carries them so that a durable
-- acknowledgement waits for exactly these events (not for a version another event may reuse
-- after Redis lost data).
local EMITTED = {}

-- The reply of a call that changed something: its state plus the events it appended.
local function reply_json(t)
  if #EMITTED > 0 then
    t.ev = EMITTED
  end
  return cjson.encode(t)
end

-- The reply of a replay answered from current state: wait for the account's last event.
local function replay_json(t, a)
  if a and a.lev and a.lev ~= '' then
    t.ev = { a.lev }
  end
  return cjson.encode(t)
end

local function account_view(a)
  return {
    id = a.id, cur = a.cur, st = a.st, bal = s(a.bal), held = s(a.held), od = s(a.od),
    ver = s(a.ver), opened = a.opened, meta = a.meta,
  }
end

local RESERVATION_FIELDS = { 'id', 'acct', 'cur', 'amt', 'com', 'st', 'oid', 'exp', 'aver', 'h' }

local function load_reservation(key)
  local v = redis.call('HMGET', key, unpack(RESERVATION_FIELDS))
  if not v[1] then
    return nil
  end
  return {
    id = v[1], acct = v[2], cur = v[3], amt = tonumber(v[4]), com = tonumber(v[5]), st = v[6],
    oid = v[7], exp = tonumber(v[8]), aver = tonumber(v[9]), h = v[10],
  }
end

local function save_reservation(key, r)
  redis.call('HSET', key, 'id', r.id, 'acct', r.acct, 'cur', r.cur, 'amt', s(r.amt), 'com', s(r.com),
    'st', r.st, 'oid', r.oid, 'exp', s(r.exp), 'aver', s(r.aver), 'h', r.h)
end

local function reservation_view(r)
  return {
    id = r.id, acct = r.acct, cur = r.cur, amt = s(r.amt), com = s(r.com), st = r.st, oid = r.oid,
    exp = s(r.exp), aver = s(r.aver),
  }
end

-- Appends one event to the bucket's outbox stream and bumps the account version. Call it after
-- the account fields are updated, so that balance/held are the values after the event.
-- ctx: traceparent of the call, ikey (kind:key idempotency key), h (parameter hash) - the event
-- store keeps the last two forever to answer replays older than Redis's retention.
local function emit(outbox, a, ts, ctx, ev)
  a.ver = a.ver + 1
  a.lev = ev.id
  EMITTED[#EMITTED + 1] = ev.id
  redis.call('XADD', outbox, '*',
    'id', ev.id, 'acct', a.id, 'ver', s(a.ver), 'type', ev.type, 'ts', s(ts), 'cur', a.cur,
    'amt', s(ev.amt or 0), 'bal', s(a.bal), 'held', s(a.held), 'ref', ev.ref or '',
    'res', ev.res or '', 'cp', ev.cp or '', 'meta', ev.meta or '{}', 'x', ev.x or '{}',
    'tp', ctx.traceparent, 'ikey', ctx.ikey, 'h', ctx.h or '')
end

-- Back-pressure: refuse new work while the relay has not drained the outbox, instead of
-- letting the stream (and Redis memory) grow without bound.
local function outbox_full(outbox, max_len)
  return redis.call('XLEN', outbox) >= max_len
end

local function overloaded(max_len)
  return reject('OVERLOADED', 'outbox backlog at its bound of ' .. s(max_len) .. ' events; retry later')
end

-- Set by the idempotent wrapper (lua/lib/idempotent.lua) when the id filter proved the call's
-- id never produced events and this call took its claim: then no replay record or reservation
-- can exist under it, and the scripts skip looking for them (two fewer commands for a Reserve).
local ID_IS_NEW = false

-- Idempotency records: a hash {h = parameter hash, reply = reply json}, kept for the retention.
local function idem_lookup(key, h)
  if ID_IS_NEW then
    return nil
  end
  local v = redis.call('HMGET', key, 'h', 'reply')
  if not v[1] then
    return nil
  end
  if v[1] ~= h then
    return reject('IDEMPOTENCY_CONFLICT', 'this id was used before with different parameters')
  end
  return { 'REPLAY', v[2] }
end

local function idem_store(key, h, reply, retention_s)
  redis.call('HSET', key, 'h', h, 'reply', reply)
  redis.call('EXPIRE', key, retention_s)
end

local function status_reject(a)
  if a.st == 'CLOSED' then
    return reject('ACCOUNT_CLOSED', 'account ' .. a.id .. ' is closed')
  end
  if a.st == 'FROZEN' then
    return reject('ACCOUNT_FROZEN', 'account ' .. a.id .. ' is frozen')
  end
  return nil
end

local function not_found(id)
  return reject('ACCOUNT_NOT_FOUND', 'account ' .. id .. ' does not exist')
end

local function currency_mismatch(a, cur)
  return reject('CURRENCY_MISMATCH', 'account ' .. a.id .. ' holds ' .. a.cur .. ', not ' .. cur)
end

-- The checks an account-changing script starts with, in this order: the account exists (id names
-- it in the reject), holds the call's currency, its status allows the call (a credit is refused
-- only by a closed account, anything else also by a frozen one), and its outbox has room.
-- Returns the reject, or nil when the call may go on.
local function account_guard(a, id, cur, outbox, max_len, credit)
  if not a then
    return not_found(id)
  end
  if a.cur ~= cur then
    return currency_mismatch(a, cur)
  end
  if a.st == 'CLOSED' or not credit then
    local blocked = status_reject(a)
    if blocked then
      return blocked
    end
  end
  if outbox_full(outbox, max_len) then
    return overloaded(max_len)
  end
  return nil
end

-- Expiry index members name the account too, so the sweeper can address the account's keys.
local function expiry_member(account_id, reservation_id)
  return account_id .. '|' .. reservation_id
end

local function reservation_not_found(id)
  return reject('RESERVATION_NOT_FOUND', 'reservation ' .. id .. ' does not exist')
end

local function reservation_not_active(r)
  return reject('RESERVATION_NOT_ACTIVE', 'reservation ' .. r.id .. ' is ' .. r.st)
end

-- Gives back what remains of an ACTIVE reservation (release, final commit, expiry) and records it
-- as one event of the given type. The reservation leaves the expiry index.
local function release_remainder(acct_key, res_key, expiry_key, outbox, a, r, ts, ctx, ev_type, ev_id, ref, reason)
  local rest = r.amt - r.com
  a.held = a.held - rest
  r.st = ev_type == 'RESERVATION_EXPIRED' and 'EXPIRED' or 'RELEASED'
  emit(outbox, a, ts, ctx, {
    id = ev_id, type = ev_type, amt = rest, ref = ref, res = r.id, x = cjson.encode({ reason = reason }),
  })
  r.aver = a.ver
  redis.call('ZREM', expiry_key, expiry_member(a.id, r.id))
  save_account(acct_key, a)
  save_reservation(res_key, r)
end

local function reservation_reply(a, r)
  return reply_json({ account = account_view(a), reservation = reservation_view(r) })
end

local function reservation_replay(a, r)
  return replay_json({ account = account_view(a), reservation = reservation_view(r) }, a)
end
