"""Privacy: retention, erasure and export of a shopper's personal data (GDPR).

- ``inventory``: what every table and column holds about a shopper, and what
  retention and erasure do with it (a test fails when a column is not listed);
- ``model``: who a request is about (:class:`Selector`) and what was removed;
- ``store``: the typed SQL functions; ``jobs``: the write jobs built on them;
- ``service``: erasure and export for the dashboard, the retention purge and the
  watch for erasures made by the command line while the server runs;
- ``web``: the dashboard's privacy API; the command line is ``bot.cli.privacy``.
"""
