"""Widget figures (issue: embeddable chat widget).

    .venv/bin/python tests/benchmarks/bench_widget.py [--runs 9]

1. Size: our own code (the loader /widget.js and the ES modules in widget/src/)
   and the vendored socket.io client, raw and gzip-compressed (level 9, what a
   compressing proxy sends), file by file; and the bytes the demo page really
   fetched for the widget in Chromium (the server sends them gzip-compressed).
2. First open to interactive on the demo page (`supportbot serve`, real server in
   its own process) in headless Chromium: a fresh browser context per run (no
   resume token, so the first open connects, loads the socket.io client and starts
   a new conversation). Measured inside the page from the click on the launcher to
   (a) the panel shown with the input focused, (b) the chat ready: connected,
   `start` acknowledged and the greeting in the transcript, and (c) that state
   painted (the next animation frame). Median of RUNS runs, with min and max.
3. A repeat page view: the demo page loaded, the chat opened once (so every widget
   file and the socket.io client are fetched), then the page loaded again in the
   same browser context (its HTTP cache kept). Counted through the DevTools
   protocol: the widget's requests (the loader, its modules, the client) that went
   to the server (and how many of those were answered 304 Not Modified) and those
   served from the browser's cache without asking.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serverproc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ROOT / "widget"
CHROMIUM = os.environ.get("SUPPORTBOT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]

MEASURE_OPEN = """async () => {
  const root = document.querySelector("supportbot-widget").shadowRoot;
  const ready = () => root.querySelector(".conn[data-connection=online]") && root.querySelector(".log .msg.bot");
  const done = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (ready()) { observer.disconnect(); resolve(performance.now()); }
    });
    observer.observe(root, {subtree: true, childList: true, attributes: true});
  });
  const t0 = performance.now();
  root.querySelector(".launcher").click();
  const panel = root.activeElement === root.querySelector("textarea.input") && !root.querySelector(".panel").hidden
    ? performance.now() - t0 : null;
  const chat = (await done) - t0;
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
  return {panel, chat, painted: performance.now() - t0};
}"""

WIDGET_BYTES = """() => performance.getEntriesByType("resource")
  .filter((r) => r.name.includes("/widget"))
  .map((r) => ({name: new URL(r.name).pathname, transfer: r.transferSize, body: r.encodedBodySize}))"""


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def sizes() -> None:
    own = [WIDGET / "widget.js", *sorted((WIDGET / "src").glob("*.js"))]
    vendored = sorted((WIDGET / "vendor").glob("*.js"))
    print("1. Size (gzip -9 per file; the browser fetches each file separately)")
    for title, files in (("our own code", own), ("vendored socket.io-client", vendored)):
        raw = sum(p.stat().st_size for p in files)
        packed = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
        print(f"   {title:<26} {len(files):>2} files  raw {kb(raw):>9}  gzip {kb(packed):>8}")
        if title == "our own code":
            for p in files:
                print(
                    f"      {p.relative_to(WIDGET)!s:<28} raw {kb(p.stat().st_size):>8}"
                    f"  gzip {kb(len(gzip.compress(p.read_bytes(), 9))):>8}"
                )
            own_gzip = packed
    print(f"   budget for our own code: 40 KB gzip -> {'OK' if own_gzip < 40 * 1024 else 'OVER'}")


async def timings(url: str, runs: int, settle: int) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        results = []
        fetched = []
        for _ in range(runs):
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.goto(url + "/")
            await page.wait_for_function("window.SupportWidget !== undefined")
            await page.evaluate("() => new Promise((r) => SupportWidget.on('ready', r))")
            await page.wait_for_timeout(settle)
            results.append(await page.evaluate(MEASURE_OPEN))
            fetched = await page.evaluate(WIDGET_BYTES)
            await context.close()
        await browser.close()
    when = f"{settle} ms after the widget's ready event" if settle else "right at the ready event"
    print(f"\n   clicked {when}, {runs} runs:")
    for key, label in (
        ("panel", "panel open, input focused"),
        ("chat", "chat ready (connected, greeted)"),
        ("painted", "chat ready and painted"),
    ):
        values = [r[key] for r in results if r[key] is not None]
        print(
            f"      {label:<34} median {statistics.median(values):6.1f} ms"
            f"   min {min(values):6.1f}   max {max(values):6.1f}"
        )
    if settle:
        return
    print(
        "\n   bytes fetched for the widget on the demo page (gzip from the server; 'on the wire'"
        " includes the headers)"
    )
    for entry in fetched:
        print(
            f"      {entry['name']:<40} {entry['transfer']:>7} B on the wire, body {entry['body']:>7} B"
        )
    print(
        f"      {'total':<40} {sum(e['transfer'] for e in fetched):>7} B on the wire, body "
        f"{sum(e['body'] for e in fetched):>7} B"
    )


async def repeat_view(url: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        seen: dict[str, dict[str, object]] = {}

        def sent(event: dict) -> None:
            request = event["request"]
            if "/widget" in request["url"]:
                seen[event["requestId"]] = {"url": request["url"], "network": True, "status": None}

        def cached(event: dict) -> None:
            if event["requestId"] in seen:
                seen[event["requestId"]]["network"] = False

        def received(event: dict) -> None:
            entry = seen.get(event["requestId"])
            if entry is not None:
                response = event["response"]
                entry["status"] = response["status"]
                if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
                    entry["network"] = False

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.requestServedFromCache", cached)
        cdp.on("Network.responseReceived", received)
        for view in ("first", "repeat"):
            seen.clear()
            await page.goto(url + "/")
            await page.wait_for_function("window.SupportWidget !== undefined")
            await page.evaluate("() => new Promise((r) => SupportWidget.on('ready', r))")
            if view == "first":
                await page.evaluate("SupportWidget.open()")
                await page.wait_for_function("""() => document.querySelector("supportbot-widget")
                  .shadowRoot.querySelector(".conn[data-connection=online]")""")
            await page.wait_for_load_state("networkidle")
            entries = list(seen.values())
            network = [e for e in entries if e["network"]]
            revalidated = [e for e in network if e["status"] == 304]
            print(
                f"   {view} view: {len(entries)} widget requests, {len(network)} to the server"
                f" ({len(revalidated)} answered 304), {len(entries) - len(network)}"
                " from the browser's cache"
            )
        await context.close()
        await browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--parts",
        default="size,open,repeat",
        help="which of size, open, repeat to run (comma-separated)",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "size" in parts:
        sizes()
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "bench.db") as server:
        if "open" in parts:
            print(
                "\n2. First open to interactive on the demo page, headless Chromium,"
                " fresh context per run"
            )
            asyncio.run(timings(server.url, args.runs, settle=1000))
            asyncio.run(timings(server.url, args.runs, settle=0))
        if "repeat" in parts:
            print("\n3. A repeat page view in the same browser (HTTP cache kept)")
            asyncio.run(repeat_view(server.url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
