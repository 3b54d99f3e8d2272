"""The knowledge base (FAQ entries in several languages) and the FAQ matcher.

- :mod:`bot.kb.model`: :class:`KnowledgeBase`, :class:`Entry`, :class:`Problem`.
- :mod:`bot.kb.loader`: ``load_kb(path)`` for TOML folders/files and CSV exports.
- :mod:`bot.kb.export`: ``write_csv(kb, out)``.
- :mod:`bot.kb.matcher`: :class:`MatcherConfig`, :class:`Matcher` (answer/suggest/fallback).
- :mod:`bot.kb.service`: :class:`KnowledgeService`, the live KB of a running server.

Submodules are imported on use: the loader alone does not need numpy.
"""
