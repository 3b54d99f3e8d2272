"""The Lua scripts: each change of shared state is one script, so atomic on Redis.

Times are Redis's own clock (``TIME``), in milliseconds, so processes on machines
whose clocks differ still agree; what a script returns about a moment is its age
(milliseconds ago), which each process turns into a time on its own clock.

Keys (all under ``sb:``):

- ``shopper_sid`` (hash sid -> conversation), ``shoppers:<conversation>`` (set of
  sids), ``away`` (hash conversation -> when its shopper's last connection closed);
- ``owner`` (hash conversation -> agent), ``owned:<agent>`` (set of conversations);
- ``queue`` (sorted set, score: when the chat started waiting, epoch seconds);
- ``agents`` (set of agent ids), ``agent:<id>`` (hash: status, capacity, manager,
  disconnected_at, last_assigned), ``agent_sids:<id>`` (set), ``agent_sid`` (hash
  sid -> agent);
- ``nodes`` (sorted set of processes, score: when each is dead unless it beats
  again), ``node_sids:<node>`` (the connections each holds: ``s:<sid>`` shoppers,
  ``a:<sid>`` agents), ``node_gauges:<node>`` (gauges it holds a share of);
- ``leader`` (the leader's node id, expiring), ``lock:<conversation>``,
  ``rl:<rule>|<key>:<bucket>`` (rate-limit buckets), ``gauge:<rule>|<key>``
  (hash node -> held).
"""

from __future__ import annotations

PREFIX = "sb:"

_COMMON = """
local P = 'sb:'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function presence(id, now)
  local key = P .. 'agent:' .. id
  if redis.call('EXISTS', key) == 0 then return false end
  local h = redis.call('HMGET', key, 'status', 'capacity', 'manager', 'disconnected_at',
                       'last_assigned')
  local gone, last = '', ''
  if h[4] then gone = tostring(now - tonumber(h[4])) end
  if h[5] then last = tostring(now - tonumber(h[5])) end
  local out = {tostring(id), h[1] or 'away', h[2] or '3', h[3] or '0', gone, last}
  for _, sid in ipairs(redis.call('SMEMBERS', P .. 'agent_sids:' .. id)) do
    table.insert(out, sid)
  end
  return out
end
local function new_agent(id)
  local key = P .. 'agent:' .. id
  redis.call('SADD', P .. 'agents', id)
  redis.call('HSETNX', key, 'status', 'away')
  redis.call('HSETNX', key, 'capacity', 3)
  redis.call('HSETNX', key, 'manager', 0)
  return key
end
local function shopper_left(sid, node, now)
  local cid = redis.call('HGET', P .. 'shopper_sid', sid)
  redis.call('SREM', P .. 'node_sids:' .. node, 's:' .. sid)
  if not cid then return false end
  redis.call('HDEL', P .. 'shopper_sid', sid)
  local set = P .. 'shoppers:' .. cid
  redis.call('SREM', set, sid)
  if redis.call('SCARD', set) == 0 then
    redis.call('HSET', P .. 'away', cid, now)
    return {cid, 1}
  end
  return {cid, 0}
end
local function agent_left(sid, node, now)
  redis.call('SREM', P .. 'node_sids:' .. node, 'a:' .. sid)
  local id = redis.call('HGET', P .. 'agent_sid', sid)
  if not id then return false end
  redis.call('HDEL', P .. 'agent_sid', sid)
  local set = P .. 'agent_sids:' .. id
  redis.call('SREM', set, sid)
  if redis.call('SCARD', set) == 0 and redis.call('EXISTS', P .. 'agent:' .. id) == 1 then
    redis.call('HSET', P .. 'agent:' .. id, 'disconnected_at', now)
  end
  return id
end
local function release(cid)
  local agent = redis.call('HGET', P .. 'owner', cid)
  if agent then
    redis.call('HDEL', P .. 'owner', cid)
    redis.call('SREM', P .. 'owned:' .. agent, cid)
  end
  return agent
end
"""


def script(body: str) -> str:
    return _COMMON + body


# -- shoppers (ARGV: sid, conversation, node)
SHOPPER_JOINED = script("""
local now = now_ms()
local sid, cid, node = ARGV[1], ARGV[2], ARGV[3]
shopper_left(sid, node, now)
redis.call('HSET', P .. 'shopper_sid', sid, cid)
redis.call('SADD', P .. 'shoppers:' .. cid, sid)
redis.call('HDEL', P .. 'away', cid)
redis.call('SADD', P .. 'node_sids:' .. node, 's:' .. sid)
return 1
""")

SHOPPER_LEFT = script("""
local r = shopper_left(ARGV[1], ARGV[2], now_ms())
if r then return r[1] end
return false
""")

SHOPPER_AWAY_SINCE = script("""
if redis.call('SCARD', P .. 'shoppers:' .. ARGV[1]) > 0 then return false end
local t = redis.call('HGET', P .. 'away', ARGV[1])
if not t then return false end
return now_ms() - tonumber(t)
""")

SHOPPER_EXPECTED = script("""
if redis.call('SCARD', P .. 'shoppers:' .. ARGV[1]) == 0 then
  redis.call('HSETNX', P .. 'away', ARGV[1], now_ms())
end
return 1
""")

# -- ownership: compare-and-set
CLAIM = script("""
local cid, agent = ARGV[1], ARGV[2]
if redis.call('HEXISTS', P .. 'owner', cid) == 1 then return 0 end
redis.call('HSET', P .. 'owner', cid, agent)
redis.call('SADD', P .. 'owned:' .. agent, cid)
redis.call('ZREM', P .. 'queue', cid)
return 1
""")

TRANSFER = script("""
local cid, from, to = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', P .. 'owner', cid) or ''
if current ~= from then return 0 end
release(cid)
redis.call('HSET', P .. 'owner', cid, to)
redis.call('SADD', P .. 'owned:' .. to, cid)
return 1
""")

RELEASE = script("""
return release(ARGV[1])
""")

# A chat closed: released, out of the queue, forgotten. Returns {owner or '', 1 if it
# was queued else 0}.
CLOSED = script("""
local cid = ARGV[1]
local owner = release(cid) or ''
local queued = redis.call('ZREM', P .. 'queue', cid)
redis.call('HDEL', P .. 'away', cid)
return {owner, queued}
""")

# -- agents
AGENT_CONNECTED = script("""
local now = now_ms()
local id, sid, capacity, status, manager, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = new_agent(id)
redis.call('HSET', key, 'capacity', capacity, 'manager', manager)
if redis.call('SCARD', P .. 'agent_sids:' .. id) == 0 then
  redis.call('HSET', key, 'status', status)
end
redis.call('SADD', P .. 'agent_sids:' .. id, sid)
redis.call('HDEL', key, 'disconnected_at')
redis.call('HSET', P .. 'agent_sid', sid, id)
redis.call('SADD', P .. 'node_sids:' .. node, 'a:' .. sid)
return presence(id, now)
""")

AGENT_DISCONNECTED = script("""
local now = now_ms()
local id = agent_left(ARGV[1], ARGV[2], now)
if not id then return false end
return presence(id, now)
""")

AGENT_GONE = script("""
local id = ARGV[1]
if redis.call('SISMEMBER', P .. 'agents', id) == 0 then return {} end
local sids = redis.call('SMEMBERS', P .. 'agent_sids:' .. id)
for _, sid in ipairs(sids) do redis.call('HDEL', P .. 'agent_sid', sid) end
redis.call('DEL', P .. 'agent_sids:' .. id, P .. 'agent:' .. id)
redis.call('SREM', P .. 'agents', id)
return sids
""")

AGENT_FOR_SID = script("""
local id = redis.call('HGET', P .. 'agent_sid', ARGV[1])
if not id then return false end
return presence(id, now_ms())
""")

AGENT = script("""
return presence(ARGV[1], now_ms())
""")

AGENTS = script("""
local now = now_ms()
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'agents')) do
  local p = presence(id, now)
  if p then table.insert(out, p) end
end
return out
""")

SET_AGENT_STATUS = script("""
redis.call('HSET', new_agent(ARGV[1]), 'status', ARGV[2])
return 1
""")

MARK_ASSIGNED = script("""
local key = P .. 'agent:' .. ARGV[1]
if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'last_assigned', now_ms()) end
return 1
""")

EXPECT_AGENT = script("""
local id = ARGV[1]
local key = new_agent(id)
if redis.call('SCARD', P .. 'agent_sids:' .. id) == 0
    and redis.call('HEXISTS', key, 'disconnected_at') == 0 then
  redis.call('HSET', key, 'disconnected_at', now_ms())
end
return 1
""")

# The queue in serving order's raw material: each waiting chat with its score and
# whether its shopper is connected (one round trip for the whole queue).
QUEUE_PRESENCE = script("""
local out = {}
local items = redis.call('ZRANGE', P .. 'queue', 0, -1, 'WITHSCORES')
for i = 1, #items, 2 do
  local online = 0
  if redis.call('SCARD', P .. 'shoppers:' .. items[i]) > 0 then online = 1 end
  table.insert(out, {items[i], items[i + 1], online})
end
return out
""")

# -- processes (ARGV: node, time-to-live in ms, "1" when it was registered before)
BEAT = script("""
local now = now_ms()
if ARGV[3] == '1' and not redis.call('ZSCORE', P .. 'nodes', ARGV[1]) then return 0 end
redis.call('ZADD', P .. 'nodes', now + tonumber(ARGV[2]), ARGV[1])
return 1
""")

# The connections of dead processes (or of ARGV[1], when given) are closed: their
# shoppers are away from now, their agents disconnected from now; their share of
# the gauges is given back, and they leave the routed rooms' records
# (``bot.cluster.rooms``). Returns {nodes, conversations whose shopper is now away,
# agents who lost a connection}.
REAP = script("""
local now = now_ms()
local dead
if ARGV[1] ~= '' then dead = {ARGV[1]}
else dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now) end
local away, agents = {}, {}
for _, node in ipairs(dead) do
  for _, entry in ipairs(redis.call('SMEMBERS', P .. 'node_sids:' .. node)) do
    local kind, sid = string.sub(entry, 1, 1), string.sub(entry, 3)
    if kind == 's' then
      local r = shopper_left(sid, node, now)
      if r and r[2] == 1 then table.insert(away, r[1]) end
    else
      local id = agent_left(sid, node, now)
      if id then table.insert(agents, id) end
    end
  end
  redis.call('DEL', P .. 'node_sids:' .. node)
  for _, key in ipairs(redis.call('SMEMBERS', P .. 'node_gauges:' .. node)) do
    redis.call('HDEL', key, node)
  end
  redis.call('DEL', P .. 'node_gauges:' .. node)
  for _, entry in ipairs(redis.call('SMEMBERS', P .. 'node_rooms:' .. node)) do
    redis.call('SREM', P .. 'room:' .. entry, node)
  end
  redis.call('DEL', P .. 'node_rooms:' .. node)
  redis.call('ZREM', P .. 'nodes', node)
end
return {dead, away, agents}
""")

# ARGV: node, time-to-live in ms. 1: still the leader, 2: just became it, 0: not.
LEAD = script("""
local current = redis.call('GET', P .. 'leader')
if current == ARGV[1] then
  redis.call('PEXPIRE', P .. 'leader', ARGV[2])
  return 1
end
if not current then
  redis.call('SET', P .. 'leader', ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
""")

RESIGN = script("""
if redis.call('GET', P .. 'leader') == ARGV[1] then redis.call('DEL', P .. 'leader') end
return 1
""")

# -- locks (KEYS[1]: the lock; ARGV[1]: its holder's token)
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# -- counters. ARGV in groups of four, one per rule: key, limit, bucket width in ms,
# buckets. Every rule is counted, or none: returns {0, 0}, or {the number (from 1) of
# the first rule that refused, the milliseconds until a hit would be allowed}.
HIT_ALL = script("""
local now = now_ms()
local counted = {}
for g = 0, #ARGV / 4 - 1 do
  local base, limit = ARGV[g * 4 + 1], tonumber(ARGV[g * 4 + 2])
  local width, n = tonumber(ARGV[g * 4 + 3]), tonumber(ARGV[g * 4 + 4])
  local bucket = math.floor(now / width)
  local keys = {}
  for i = bucket - n + 1, bucket do table.insert(keys, base .. ':' .. i) end
  local counts = redis.call('MGET', unpack(keys))
  local total = 0
  for i = 1, n do if counts[i] then total = total + tonumber(counts[i]) end end
  local over = total - limit + 1
  if over > 0 then
    for i = 1, n do
      if counts[i] then
        over = over - tonumber(counts[i])
        if over <= 0 then return {g + 1, math.max((bucket + i) * width - now, 10)} end
      end
    end
    return {g + 1, n * width}
  end
  table.insert(counted, {base .. ':' .. bucket, (n + 1) * width})
end
for _, c in ipairs(counted) do
  redis.call('INCR', c[1])
  redis.call('PEXPIRE', c[1], c[2])
end
return {0, 0}
""")

# ARGV: key, bucket width in ms, buckets. Takes back the latest counted hit.
UNDO = script("""
local now = now_ms()
local base, width, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = math.floor(now / width)
for i = bucket, bucket - n + 1, -1 do
  local key = base .. ':' .. i
  local c = tonumber(redis.call('GET', key) or '0')
  if c > 0 then
    redis.call('DECR', key)
    return 1
  end
end
return 0
""")

FORGET = script("""
local now = now_ms()
local base, width, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = math.floor(now / width)
for i = bucket - n + 1, bucket do redis.call('DEL', base .. ':' .. i) end
return 1
""")

# ARGV: gauge key, limit, node
ACQUIRE = script("""
local total = 0
for _, v in ipairs(redis.call('HVALS', ARGV[1])) do total = total + tonumber(v) end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', ARGV[1], ARGV[3], 1)
redis.call('SADD', P .. 'node_gauges:' .. ARGV[3], ARGV[1])
return 1
""")

RELEASE_GAUGE = script("""
if redis.call('HINCRBY', ARGV[1], ARGV[2], -1) <= 0 then redis.call('HDEL', ARGV[1], ARGV[2]) end
return 1
""")
