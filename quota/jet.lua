#!lua name=jet
--[[
Jet quota library (Redis 7 Functions). Loaded by quota.functions.load_library()
with FUNCTION LOAD REPLACE; `jet_version` reports LIB_VERSION so an older jetd
refuses to replace a newer library.

Conventions (see docs/quota.md):
  * All keys of one call live under one account hash tag `jet:{acct:ID}:...`
    (the hot-path functions declare the meta key and derive the others: see prefix_of).
  * Time (`now`, unix seconds) always comes in ARGV; never redis TIME.
  * Money is integer micro-units (1e-6 of the currency unit); the Python façade
    converts with Decimal. Session counters and bucket units are integers (< 2^53).
    Period counters are decimal strings that Lua only stores (Python adds exactly).
  * No pricing here: Python rates, these functions apply what was rated.
  * Numbers are written back with string.format('%d') (Lua's tostring would
    print large integers as 1e+15).
  * Maps/lists in ARGV are msgpack (cmsgpack).
]]

local LIB_VERSION = 5

local function istr(n) return string.format('%d', n) end

local function num(v)
  if v == false or v == nil then return 0 end
  return tonumber(v) or 0
end

local function split(s, sep)
  local out, start = {}, 1
  if s == nil or s == '' then return out end
  while true do
    local i = string.find(s, sep, start, true)
    if not i then out[#out + 1] = string.sub(s, start); return out end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + #sep
  end
end

local function as_map(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function fire(kfired, name, out)
  if redis.call('SADD', kfired, name) == 1 then out[#out + 1] = name end
end

-- Buckets: hash field `<id>` = "unit|priority|valid_from|valid_until|initial|plan|scoped|thresholds",
-- `<id>:rem` = remaining, `<id>:rsv` = reserved. valid_until 0 = no expiry.
local function load_buckets(kb)
  local h = as_map(redis.call('HGETALL', kb))
  local list = {}
  for field, def in pairs(h) do
    if not string.find(field, ':', 1, true) then
      local p = split(def, '|')
      list[#list + 1] = {id = field, unit = p[1], prio = tonumber(p[2]), from = tonumber(p[3]),
        till = tonumber(p[4]), initial = tonumber(p[5]), scoped = p[7], th = p[8] or '',
        rem = num(h[field .. ':rem']), rsv = num(h[field .. ':rsv'])}
    end
  end
  table.sort(list, function(a, b)
    if a.prio ~= b.prio then return a.prio < b.prio end
    local ta = a.till == 0 and math.huge or a.till
    local tb = b.till == 0 and math.huge or b.till
    if ta ~= tb then return ta < tb end
    return a.id < b.id
  end)
  return list
end

local function valid(b, now) return b.from <= now and (b.till == 0 or now < b.till) end

-- Take `take` from a bucket's remaining; fire its percent thresholds once.
local function consume(kb, kfired, b, take, fired)
  local before = b.initial - b.rem
  b.rem = b.rem - take
  redis.call('HSET', kb, b.id .. ':rem', istr(b.rem))
  if b.initial > 0 then
    local after = b.initial - b.rem
    for _, pct in ipairs(split(b.th, ',')) do
      local p = tonumber(pct)
      if before * 100 < b.initial * p and after * 100 >= b.initial * p then
        fire(kfired, 'bucket:' .. b.id .. ':' .. pct, fired)
      end
    end
  end
end

-- Draw qty of unit from available (remaining - reserved) valid buckets; returns the uncovered rest.
local function draw(kb, kfired, buckets, unit, qty, now, fired)
  local left = qty
  for _, b in ipairs(buckets) do
    if left <= 0 then break end
    if b.unit == unit and valid(b, now) then
      local avail = b.rem - b.rsv
      if avail > 0 then
        local take = math.min(avail, left)
        consume(kb, kfired, b, take, fired)
        left = left - take
      end
    end
  end
  return left
end

-- Money that no bucket covered: running charges (both modes) and the balance (prepaid), on the
-- account's meta as jet_acct_apply read it (it writes the fields back once, with the version).
local function overflow(meta, kfired, amount, fired)
  if amount == 0 then return end
  meta.chg = num(meta.chg) + amount
  if meta.mode == 'prepaid' then
    local before = num(meta.bal)
    local after = before - amount
    meta.bal = after
    local low = num(meta.low)
    if after <= low and before > low then fire(kfired, 'balance:low', fired) end
    if after <= 0 and before > 0 then fire(kfired, 'balance:exhausted', fired) end
  end
end

local function is_money(unit) return string.sub(unit, 1, 5) == 'money' end

--[[ jet_version: KEYS none; ARGV none; returns LIB_VERSION (integer). ]]
local function jet_version(keys, args) return LIB_VERSION end

--[[ jet_account_put: create or update an account.
KEYS: 1 meta
ARGV: 1 mode ('prepaid'|'postpaid'), 2 currency, 3 low-balance micro, 4 period id (set only if none yet)
Returns: {created 0|1, period} ]]
local function jet_account_put(keys, args)
  local created = redis.call('EXISTS', keys[1]) == 0 and 1 or 0
  redis.call('HSET', keys[1], 'mode', args[1], 'cur', args[2], 'low', args[3])
  if created == 1 then redis.call('HSET', keys[1], 'ver', '0', 'bal', '0', 'chg', '0', 'period', args[4]) end
  return {created, redis.call('HGET', keys[1], 'period')}
end

--[[ jet_bucket_put: grant a bucket (idempotent by bucket id).
KEYS: 1 meta, 2 buckets
ARGV: 1 id, 2 definition "unit|priority|valid_from|valid_until|initial|plan|scoped|thresholds"
Returns: 1 granted, 0 already there. Bumps the account version. ]]
local function jet_bucket_put(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return redis.error_reply('NOACCOUNT') end
  if redis.call('HEXISTS', keys[2], args[1]) == 1 then return 0 end
  local p = split(args[2], '|')
  redis.call('HSET', keys[2], args[1], args[2], args[1] .. ':rem', p[5], args[1] .. ':rsv', '0')
  redis.call('HINCRBY', keys[1], 'ver', 1)
  return 1
end

-- The hot-path functions take one declared key, the account's meta key `jet:{acct:ID}:meta`,
-- and derive the account's other keys from its prefix: they share the hash tag, so they are
-- in the declared key's slot, which Redis Cluster allows for keys a script did not declare.
-- (Fewer arguments: redis-py spends most of its client CPU encoding them.)
local function prefix_of(kmeta)
  if string.sub(kmeta, -5) ~= ':meta' then error('KEYS[1] must be an account meta key') end
  return string.sub(kmeta, 1, -6)
end

--[[ jet_read (no-writes): everything the rater needs.
KEYS: 1 meta (jet:{acct:ID}:meta; counters, buckets, session and closed set derived from it)
ARGV: 1 session id or ''
Returns: {meta flat, counters flat, buckets flat, session flat, closed 0|1} ]]
local function jet_read(keys, args)
  local p = prefix_of(keys[1])
  local sess, closed = {}, 0
  if args[1] ~= '' then
    sess = redis.call('HGETALL', p .. ':s:' .. args[1])
    if redis.call('ZSCORE', p .. ':closed', args[1]) then closed = 1 end
  end
  return {redis.call('HGETALL', keys[1]), redis.call('HGETALL', p .. ':ctr'),
          redis.call('HGETALL', p .. ':bkt'), sess, closed}
end

--[[ jet_acct_apply: apply one rated accounting record atomically.
KEYS: 1 meta (jet:{acct:ID}:meta). Derived: ctr, bkt, fired, s:<sid>, sc:<sid> (session charges),
      open, closed, and on Stop d:<sid>, dc:<sid>, done.
ARGV: 1 msgpack map:
        sid      session key
        now      event time of the record (unix seconds)
        seen     when Jet received it (unix seconds, Jet's clock): the open-sessions index score
        period   period id the caller rated against
        ver, sv  expected account version and session version (sv 0 = no session yet)
        counters the record's CUMULATIVE counters {name: int}
        set      period counters' NEW values {name: decimal string} (the caller added the rated
                 increments to the values it read: exact, because the version guard holds)
        draws    units to draw from buckets {unit: int}; money pools in micro-units
        thresholds, exhausted   names the rater reported (thresholds fire once per period)
        info     session fields stored when the session is new {nas, asid, realm, user}; cause on Stop
        final    true on Stop
        keep     seconds to keep a stopped session's tombstone
        money    the session's exact money totals per pool {pool: decimal string}
      2 the record's charges: concatenated msgpack maps (may be '')
Returns: {status, version, delta flat, fired, exhausted, opened 0|1, reset counters,
          uncovered flat, closed session flat, closed session charges, session version,
          balance micro, charges micro}
  status: OK | CONFLICT (version or session moved: re-read, re-rate) | CLOSED (session already
  stopped: nothing applied) | PERIOD (account is in another period) | NOACCOUNT ]]
local function jet_acct_apply(keys, args)
  local a = cmsgpack.unpack(args[1])
  local kmeta, p, sid, now = keys[1], prefix_of(keys[1]), a.sid, a.now
  local kctr, kb, kfired, kopen, kclosed = p .. ':ctr', p .. ':bkt', p .. ':fired', p .. ':open', p .. ':closed'
  local ks, ksc = p .. ':s:' .. sid, p .. ':sc:' .. sid
  local meta = as_map(redis.call('HGETALL', kmeta))
  local ver = num(meta.ver)
  if meta.mode == nil then return {'NOACCOUNT', 0} end
  -- The session hash is read once and written once (one HSET of every changed field), and so is
  -- the meta hash: a command per counter read, set and added up was most of this function's cost.
  local s = as_map(redis.call('HGETALL', ks))
  local sv = num(s.sv)
  -- a stopped session's hash is renamed away: only one not open yet can be in the closed set
  if sv == 0 and redis.call('ZSCORE', kclosed, sid) then return {'CLOSED', ver} end
  if meta.period ~= a.period then return {'PERIOD', ver} end
  if ver ~= a.ver or sv ~= a.sv then return {'CONFLICT', ver} end
  local w = {}
  local function put(field, value)
    w[#w + 1] = field
    w[#w + 1] = value
  end

  local opened = 0
  if sv == 0 then
    sv = 1
    put('start', istr(now))
    for field, value in pairs(a.info) do put(field, value) end
    opened = 1
  end
  -- Delta from the last applied cumulative counters. A counter that went backwards is a NAS
  -- reset if the record is newer than the last one applied (new base, zero delta), else a
  -- late retransmission (ignored). Mirrors quota/delta.py.
  local upd = num(s.upd)
  local delta, resets, changed = {}, {}, false
  for name, value in pairs(a.counters) do
    local last = num(s['c:' .. name])
    local d = 0
    if value >= last then
      d = value - last
    elseif now > upd then
      resets[#resets + 1] = name
    else
      value = last
    end
    if value ~= last then
      changed = true
      put('c:' .. name, istr(value))
    end
    if d > 0 then put('d:' .. name, istr(num(s['d:' .. name]) + d)) end
    delta[#delta + 1] = name
    delta[#delta + 1] = d
  end
  if #resets > 0 then put('resets', istr(num(s.resets) + #resets)) end
  if now > upd then put('upd', istr(now)) end
  -- The open-sessions index goes by when Jet received the record (a.seen, our clock), only
  -- ever forward: the reaper then ignores how far the NAS's clock is off.
  if not a.final then redis.call('ZADD', kopen, 'GT', istr(a.seen or now), sid) end  -- a Stop leaves it below

  local fired, exhausted, uncovered, touched = {}, {}, {}, false
  local set = {}
  for name, value in pairs(a.set) do
    set[#set + 1] = name
    set[#set + 1] = value
  end
  if #set > 0 then
    redis.call('HSET', kctr, unpack(set))
    touched = true
  end
  for pool, total in pairs(a.money) do
    put('m:' .. pool, total)
    changed = true
  end
  if changed then sv = sv + 1 end
  if changed or opened == 1 then put('sv', istr(sv)) end
  if a.final then put('stop', istr(now)); put('cause', a.info.cause or '') end
  if #w > 0 then redis.call('HSET', ks, unpack(w)) end
  local draws = a.draws
  local units = {}
  for unit, _ in pairs(draws) do units[#units + 1] = unit end
  table.sort(units)
  if #units > 0 then
    local buckets = load_buckets(kb)
    for _, unit in ipairs(units) do
      local qty = draws[unit]
      if qty ~= 0 then touched = true end
      local left = qty
      if qty > 0 then left = draw(kb, kfired, buckets, unit, qty, now, fired) end
      if is_money(unit) then overflow(meta, kfired, left, fired) end
      if left > 0 then
        uncovered[#uncovered + 1] = unit
        uncovered[#uncovered + 1] = left
        exhausted[#exhausted + 1] = 'unit:' .. unit
      end
    end
  end
  for _, name in ipairs(a.thresholds) do fire(kfired, name, fired) end
  for _, name in ipairs(a.exhausted) do exhausted[#exhausted + 1] = name end
  if meta.mode == 'prepaid' and num(meta.bal) <= 0 then
    exhausted[#exhausted + 1] = 'balance'
  end
  if args[2] ~= '' then redis.call('APPEND', ksc, args[2]) end
  if touched or #resets > 0 then
    ver = ver + 1
    redis.call('HSET', kmeta, 'ver', istr(ver), 'chg', istr(num(meta.chg)), 'bal', istr(num(meta.bal)))
  end

  local done, charges = {}, false
  if a.final then
    local kdone, kdonech, kdoneset = p .. ':d:' .. sid, p .. ':dc:' .. sid, p .. ':done'
    redis.call('RENAME', ks, kdone)
    if redis.call('EXISTS', ksc) == 1 then redis.call('RENAME', ksc, kdonech) end
    redis.call('SADD', kdoneset, sid)
    redis.call('ZREM', kopen, sid)
    redis.call('ZADD', kclosed, istr(now), sid)
    redis.call('ZREMRANGEBYSCORE', kclosed, '-inf', '(' .. istr(now - a.keep))
    done = redis.call('HGETALL', kdone)
    charges = redis.call('GET', kdonech)
  end
  return {'OK', ver, delta, fired, exhausted, opened, resets, uncovered, done, charges, sv, num(meta.bal),
          num(meta.chg)}
end

--[[ jet_sess_list (no-writes): open sessions of an account, optionally only stale ones.
KEYS: 1 open
ARGV: 1 max last-update (unix seconds; '+inf' for all)
Returns: flat {session id, last update, ...} ]]
local function jet_sess_list(keys, args)
  return redis.call('ZRANGEBYSCORE', keys[1], '-inf', args[1], 'WITHSCORES')
end

--[[ jet_handoff_ack: forget a closed session once it is on the stream.
KEYS: 1 done session, 2 done charges, 3 done set
ARGV: 1 session id
Returns: 1 if it was pending ]]
local function jet_handoff_ack(keys, args)
  redis.call('DEL', keys[1], keys[2])
  return redis.call('SREM', keys[3], args[1])
end

--[[ jet_handoff_get (no-writes): a closed session not yet acknowledged.
KEYS: 1 done session, 2 done charges
ARGV: none
Returns: {session flat, charges or false} ]]
local function jet_handoff_get(keys, args)
  return {redis.call('HGETALL', keys[1]), redis.call('GET', keys[2])}
end

--[[ jet_topup: balance += amount, once per top-up id.
KEYS: 1 meta, 2 top-ups, 3 fired
ARGV: 1 top-up id, 2 amount micro, 3 now
Returns: {applied 0|1, balance micro} ]]
local function jet_topup(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return redis.error_reply('NOACCOUNT') end
  if redis.call('HSETNX', keys[2], args[1], args[2] .. '@' .. args[3]) == 0 then
    return {0, num(redis.call('HGET', keys[1], 'bal'))}
  end
  local bal = num(redis.call('HINCRBY', keys[1], 'bal', args[2]))
  if bal > num(redis.call('HGET', keys[1], 'low')) then redis.call('SREM', keys[3], 'balance:low') end
  if bal > 0 then redis.call('SREM', keys[3], 'balance:exhausted') end
  return {1, bal}
end

--[[ jet_rollover: start a new period (idempotent; never goes back).
KEYS: 1 meta, 2 counters, 3 buckets, 4 fired
ARGV: 1 new period id (ids sort chronologically), 2 now,
      3 grants (msgpack list of {id, definition}) for the new period
Returns: {'ROLLED', old period, old counters flat, old charges micro, version}
       | {'SAME', current period} | {'NOACCOUNT'} ]]
local function jet_rollover(keys, args)
  local kmeta, kctr, kb, kfired = unpack(keys, 1, 4)
  local now = tonumber(args[2])
  local meta = as_map(redis.call('HGETALL', kmeta))
  if meta.mode == nil then return {'NOACCOUNT'} end
  local old = meta.period or ''
  if old ~= '' and old >= args[1] then return {'SAME', old} end
  local counters = redis.call('HGETALL', kctr)
  redis.call('DEL', kctr, kfired)
  for _, b in ipairs(load_buckets(kb)) do
    if b.scoped == '1' or (b.till ~= 0 and b.till <= now) then
      redis.call('HDEL', kb, b.id, b.id .. ':rem', b.id .. ':rsv')
    end
  end
  for _, g in ipairs(cmsgpack.unpack(args[3])) do
    local p = split(g[2], '|')
    redis.call('HSET', kb, g[1], g[2], g[1] .. ':rem', p[5], g[1] .. ':rsv', '0')
  end
  redis.call('HSET', kmeta, 'period', args[1], 'chg', '0')
  local ver = redis.call('HINCRBY', kmeta, 'ver', 1)
  return {'ROLLED', old, counters, num(meta.chg), ver}
end

-- Reservations (Diameter): hash rsv field <rid> = "unit|expires|bucket=amount;bucket=amount",
-- zset rsvexp <rid> -> expires. Reserved units are counted in the bucket's `<id>:rsv`.
local function release(kb, krsv, kexp, rid)
  local r = redis.call('HGET', krsv, rid)
  if not r then return 0 end
  local p = split(r, '|')
  local total = 0
  for _, part in ipairs(split(p[3], ';')) do
    local kv = split(part, '=')
    if redis.call('HEXISTS', kb, kv[1]) == 1 then
      redis.call('HINCRBY', kb, kv[1] .. ':rsv', istr(-tonumber(kv[2])))
    end
    total = total + tonumber(kv[2])
  end
  redis.call('HDEL', krsv, rid)
  redis.call('ZREM', kexp, rid)
  return total
end

local function sweep(kb, krsv, kexp, now)
  local expired = redis.call('ZRANGEBYSCORE', kexp, '-inf', istr(now))
  for _, rid in ipairs(expired) do release(kb, krsv, kexp, rid) end
  return expired
end

--[[ jet_reserve: reserve units for a session/rating group (replaces its previous reservation).
KEYS: 1 meta, 2 buckets, 3 reservations, 4 reservation expiry
ARGV: 1 reservation id, 2 unit, 3 amount, 4 expires at, 5 now
Returns: {granted, version} (granted may be less than asked, 0 when nothing is left) ]]
local function jet_reserve(keys, args)
  local kmeta, kb, krsv, kexp = unpack(keys, 1, 4)
  if redis.call('EXISTS', kmeta) == 0 then return redis.error_reply('NOACCOUNT') end
  local now, left = tonumber(args[5]), tonumber(args[3])
  sweep(kb, krsv, kexp, now)
  release(kb, krsv, kexp, args[1])
  local parts, granted = {}, 0
  for _, b in ipairs(load_buckets(kb)) do
    if left <= 0 then break end
    if b.unit == args[2] and valid(b, now) and b.rem - b.rsv > 0 then
      local take = math.min(b.rem - b.rsv, left)
      redis.call('HINCRBY', kb, b.id .. ':rsv', istr(take))
      parts[#parts + 1] = b.id .. '=' .. istr(take)
      granted, left = granted + take, left - take
    end
  end
  if granted > 0 then
    redis.call('HSET', krsv, args[1], args[2] .. '|' .. args[4] .. '|' .. table.concat(parts, ';'))
    redis.call('ZADD', kexp, args[4], args[1])
  end
  return {granted, redis.call('HINCRBY', kmeta, 'ver', 1)}
end

--[[ jet_commit: consume used units of a reservation, then drop the reservation.
KEYS: 1 meta, 2 buckets, 3 reservations, 4 reservation expiry, 5 fired
ARGV: 1 reservation id, 2 unit, 3 used, 4 now
Returns: {covered, uncovered, fired, version}. Used beyond the reservation is drawn from what is
  still available; what no bucket covers is returned as uncovered (the caller rates it). ]]
local function jet_commit(keys, args)
  local kmeta, kb, krsv, kexp, kfired = unpack(keys, 1, 5)
  local now, used = tonumber(args[4]), tonumber(args[3])
  local r = redis.call('HGET', krsv, args[1])
  local held = {}
  if r then
    for _, part in ipairs(split(split(r, '|')[3], ';')) do
      local kv = split(part, '=')
      held[kv[1]] = tonumber(kv[2])
    end
    release(kb, krsv, kexp, args[1])
  end
  local fired, left = {}, used
  local buckets = load_buckets(kb)
  for _, b in ipairs(buckets) do
    if left <= 0 then break end
    local h = held[b.id]
    if h and h > 0 then
      local take = math.min(h, left, b.rem - b.rsv)
      if take > 0 then consume(kb, kfired, b, take, fired); left = left - take end
    end
  end
  left = draw(kb, kfired, buckets, args[2], left, now, fired)
  return {used - left, left, fired, redis.call('HINCRBY', kmeta, 'ver', 1)}
end

--[[ jet_release: drop a reservation. KEYS: 1 meta, 2 buckets, 3 reservations, 4 expiry;
ARGV: 1 reservation id. Returns the released amount. ]]
local function jet_release(keys, args)
  local n = release(keys[2], keys[3], keys[4], args[1])
  if n > 0 then redis.call('HINCRBY', keys[1], 'ver', 1) end
  return n
end

--[[ jet_sweep: release every reservation that expired at or before now.
KEYS: 1 meta, 2 buckets, 3 reservations, 4 expiry; ARGV: 1 now. Returns released reservation ids. ]]
local function jet_sweep(keys, args)
  local expired = sweep(keys[2], keys[3], keys[4], tonumber(args[1]))
  if #expired > 0 then redis.call('HINCRBY', keys[1], 'ver', 1) end
  return expired
end

--[[ jet_hold: hold units granted to a Diameter session's rating group until they are reported or
expire (replaces this id's hold), capped by what is left (computed by the caller from the period
counters, or the prepaid balance, at account version ver) less the account's other live holds.
Expired holds are dropped; the hash expires by itself once its last hold has.
KEYS: 1 meta, 2 holds (octets against the bundles, or micro-units of money against the balance)
ARGV: 1 hold id, 2 wanted, 3 left (before holds), 4 expires at, 5 now, 6 ver ('' = do not check)
Returns: {1, granted, left after the other holds} or {0, version} when the account's counters
  moved since ver (re-read them, recompute left, call again). ]]
local function jet_hold(keys, args)
  local kmeta, khold = keys[1], keys[2]
  local ver = num(redis.call('HGET', kmeta, 'ver'))
  if args[6] ~= '' and ver ~= tonumber(args[6]) then return {0, ver} end
  local now, expires = tonumber(args[5]), tonumber(args[4])
  local flat, others = redis.call('HGETALL', khold), 0
  for i = 1, #flat, 2 do
    local v = split(flat[i + 1], '|')
    if tonumber(v[2]) <= now then
      redis.call('HDEL', khold, flat[i])
    elseif flat[i] ~= args[1] then
      others = others + tonumber(v[1])
    end
  end
  local left = math.max(0, tonumber(args[3]) - others)
  local granted = math.min(tonumber(args[2]), left)
  if granted > 0 and expires > now then
    redis.call('HSET', khold, args[1], istr(granted) .. '|' .. istr(expires))
    local ttl = expires - now + 60
    if redis.call('TTL', khold) < ttl then redis.call('EXPIRE', khold, ttl) end
  else
    granted = 0
    redis.call('HDEL', khold, args[1])
  end
  return {1, granted, left}
end

--[[ jet_unhold: drop holds (their usage was reported, or the session ended).
KEYS: the hold hashes (units held, money held); ARGV: hold ids. Returns how many there were. ]]
local function jet_unhold(keys, args)
  if #args == 0 then return 0 end
  local n = 0
  for _, key in ipairs(keys) do n = n + redis.call('HDEL', key, unpack(args)) end
  return n
end

local RO = {'no-writes'}
redis.register_function{function_name = 'jet_version', callback = jet_version, flags = {'no-writes'}}
redis.register_function('jet_account_put', jet_account_put)
redis.register_function('jet_bucket_put', jet_bucket_put)
redis.register_function{function_name = 'jet_read', callback = jet_read, flags = RO}
redis.register_function('jet_acct_apply', jet_acct_apply)
redis.register_function{function_name = 'jet_sess_list', callback = jet_sess_list, flags = RO}
redis.register_function('jet_handoff_ack', jet_handoff_ack)
redis.register_function{function_name = 'jet_handoff_get', callback = jet_handoff_get, flags = RO}
redis.register_function('jet_topup', jet_topup)
redis.register_function('jet_rollover', jet_rollover)
redis.register_function('jet_reserve', jet_reserve)
redis.register_function('jet_commit', jet_commit)
redis.register_function('jet_release', jet_release)
redis.register_function('jet_sweep', jet_sweep)
redis.register_function('jet_hold', jet_hold)
redis.register_function('jet_unhold', jet_unhold)
