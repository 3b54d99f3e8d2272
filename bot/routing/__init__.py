"""Routing escalated chats to agents: who is available, the queue, the one dispatcher,
and the conversation cards the console shows. Below the chat and the agents' services,
which both use it; it uses only the store, the live state and the fan-out."""
