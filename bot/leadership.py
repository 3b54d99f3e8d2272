"""Which process runs the work that must run once per deployment.

The dispatcher (matching waiting chats with free seats), the queue's pushes to
consoles and waiting shoppers, the sweeper's moves and the mailer run on one
process, the leader. Alone, a process always leads (:class:`Alone`); with ``--redis`` the
leader is chosen by an expiring lock (``bot.cluster.node.Node``) and the other
processes relay their requests to it.
"""

from __future__ import annotations

from typing import Protocol

DISPATCH = "dispatch"  # match waiting chats and free seats
QUEUE = "queue"  # push the queue to consoles and places to waiting shoppers
MAIL = "mail"  # send the e-mails that are due (answers to offline tickets)


class Leadership(Protocol):
    def leads(self) -> bool:
        """True when this process runs the once-per-deployment work now."""
        ...

    def relay(self, job: str) -> None:
        """Ask the leader to run ``job`` soon (called when this process does not lead)."""
        ...


class Alone:
    """One process: it always leads."""

    def leads(self) -> bool:
        return True

    def relay(self, job: str) -> None:
        raise RuntimeError(f"nobody to relay {job!r} to: a single process always leads")
