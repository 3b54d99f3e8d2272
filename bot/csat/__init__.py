"""Customer satisfaction: the rating asked after every chat, and its storage."""
