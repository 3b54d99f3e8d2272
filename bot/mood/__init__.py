"""Mood of shoppers: a detector for single messages and an escalation policy.

``bot.mood.detector.MoodDetector`` scores one message (``MoodResult``);
``bot.mood.policy.step`` folds a turn into the conversation's ``ConversationMood``
and returns a ``Decision``. Lexicons per language live in ``bot/mood/lexicons``.
"""
