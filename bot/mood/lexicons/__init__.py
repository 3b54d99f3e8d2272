"""Cue lexicons of the mood detector (data files, loaded by bot.mood.lexicon)."""
