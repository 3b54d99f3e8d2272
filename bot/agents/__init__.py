"""Human agents: accounts and sessions, the queue and routing, the live console."""
