"""Several server processes on one Redis (``supportbot serve --redis URL``).

Each module implements, on Redis, an interface a single process implements in
memory, so that without ``--redis`` nothing here is imported (nor the ``redis``
package):

- :mod:`bot.cluster.live`: :class:`bot.live.LiveState` (shoppers' and agents'
  connections, chat ownership, the queue), every change one Lua script;
- :mod:`bot.cluster.counters`: :class:`bot.ratelimit.Counters` (rate limits,
  sign-in limits, connections per address);
- :mod:`bot.cluster.locks`: the per-conversation lock across processes;
- :mod:`bot.cluster.node`: this process's heartbeat, the reaping of processes
  that died, and the one leader (an expiring lock) that runs the dispatcher, the
  queue pushes and the sweeper;
- :mod:`bot.cluster.rooms`: python-socketio's ``AsyncRedisManager`` with our room
  index, and the fence (agents who lost a chat stop hearing it) on every process.

Every key starts with ``sb:``; give each deployment its own Redis database
(``redis://host:6379/N``). Redis Cluster is not supported (the scripts touch
several keys).
"""
