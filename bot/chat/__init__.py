"""Shopper conversations: the `/chat` socket.io namespace and the logic behind it."""
