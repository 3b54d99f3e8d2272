"""``supportbot export events|csat``: stream raw rows as CSV or JSON Lines.

For other analytics tools: values are written as stored (times in UTC ISO 8601,
JSON columns as JSON), except that in CSV a text cell a spreadsheet would run
as a formula gets a leading ``'`` (the guard of the report CSVs). The database is opened read-only and read in chunks, so
an export of millions of rows runs in constant memory while the server runs. On
a terminal, a progress bar goes to standard error.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from bot.cli.common import add_db_argument
from bot.cli.report import add_range_arguments
from bot.reports import csvout
from bot.store.conversations import compact_json
from bot.store.export import SOURCES, rows


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "export",
        help="stream raw events or CSAT rows as CSV or JSON Lines",
        description="Write every engagement event (by created_at) or every CSAT survey "
        "(by asked_at) to standard output, oldest first, for other analytics tools. "
        "A progress bar goes to standard error when it is a terminal.",
    )
    p.add_argument("what", choices=tuple(SOURCES), help="events or csat")
    p.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default="csv",
        help="csv (default; JSON columns as JSON text) or jsonl (one object a line)",
    )
    add_range_arguments(p, "the export")
    add_db_argument(p)
    p.set_defaults(func=run)


class Progress:
    """``exporting events  120,000 / 1,000,000  12%`` redrawn at most ten times a second."""

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.done = 0
        self.shown = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.shown >= 0.1:
            self.shown = now
            self.draw()

    def draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        self.stream.write(
            f"\rexporting {self.label} [{bar:<30}] {self.done:,} / {self.total:,} {share:4.0%}"
        )
        self.stream.flush()

    def close(self) -> None:
        self.draw()
        self.stream.write("\n")
        self.stream.flush()


def write(
    what: str,
    fmt: str,
    chunks: Iterator[list[tuple[Any, ...]]],
    out: TextIO,
    progress: Progress | None = None,
) -> int:
    columns, _, _, json_columns = SOURCES[what]
    decode = [i for i, name in enumerate(columns) if name in json_columns]
    written = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(columns)
    for chunk in chunks:
        if writer is not None:
            # Text a spreadsheet would run as a formula gets the reports' guard.
            writer.writerows(
                [csvout.text(v) if isinstance(v, str) else v for v in row] for row in chunk
            )
        else:
            lines = []
            for row in chunk:
                item = dict(zip(columns, row, strict=True))
                for i in decode:
                    if row[i] is not None:
                        item[columns[i]] = json.loads(row[i])
                lines.append(compact_json(item))
            out.write("\n".join(lines) + "\n")
        written += len(chunk)
        if progress is not None:
            progress.add(len(chunk))
    return written


def run(args: argparse.Namespace) -> int:
    from bot.cli.report import open_readonly, report_filter

    conn = open_readonly(args)
    try:
        f = report_filter(args, conn)
        total, chunks = rows(conn, args.what, f.start, f.end)
        progress = Progress(args.what, total, sys.stderr) if sys.stderr.isatty() else None
        write(args.what, args.format, chunks, sys.stdout, progress)
        if progress is not None:
            progress.close()
    finally:
        conn.close()
    return 0
