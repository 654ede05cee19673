"""Check the built documentation site in a real browser: headless Chromium (the system's, never one
downloaded) driven by Playwright, against a local http.server of the site folder, with no network
beyond it. Every page: no console error, no failed request, every formula typeset by KaTeX (no raw
TeX delimiters left in the text, no KaTeX error), every image loaded (naturalWidth > 0), every
internal link and anchor resolving; the API page lists every name of scratch_rnn.__all__.

Usage: python .ci/check_site.py SITE_DIR [--chromium PATH]. Exits 1 on any failure, 2 when no browser."""
from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\frac|\\begin\{|\\sum_|\\odot")

PAGE_SCRIPT = """() => {
  const text = [];
  const walker = document.createTreeWalker(document.querySelector('article') || document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest('pre, code, script, style, .katex, .highlight') ?
      NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  while (walker.nextNode()) text.push(walker.currentNode.nodeValue);
  return {
    text: text.join(' '),
    formulas: document.querySelectorAll('.katex').length,
    katexErrors: document.querySelectorAll('.katex-error').length,
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  };
}"""


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def page_urls(folder: Path, base: str) -> list[str]:
    pages = sorted(p.relative_to(folder) for p in folder.rglob("index.html"))
    return [urljoin(base, str(p.parent) + "/" if str(p.parent) != "." else "") for p in pages]


def api_names() -> list[str]:
    import scratch_rnn
    return [n for n in scratch_rnn.__all__ if n != "__version__"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", type=Path)
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    args = ap.parse_args()
    if not args.chromium:
        print("check_site: no Chromium found (install Debian's `chromium`); the site cannot be checked", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    server, base = serve(args.site)
    urls = page_urls(args.site, base)
    failures: list[str] = []
    counts = {"pages": 0, "formulas": 0, "images": 0, "internal links": 0}
    ids_of: dict[str, set[str]] = {}
    links: set[str] = set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        context = browser.new_context()
        context.route(re.compile(r"^(?!http://127\.0\.0\.1).*"), lambda route: route.abort())   # no network
        for url in urls:
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors: e.append(f"page error: {exc}"))
            page.on("requestfailed", lambda r, e=errors: e.append(f"request failed: {r.url}"))
            response = page.goto(url, wait_until="networkidle")
            if response is None or response.status != 200:
                failures.append(f"{url}: status {None if response is None else response.status}")
                continue
            info = page.evaluate(PAGE_SCRIPT)
            counts["pages"] += 1
            counts["formulas"] += info["formulas"]
            counts["images"] += len(info["images"])
            failures += [f"{url}: {e}" for e in errors]
            raw = RAW_TEX.findall(info["text"])
            if raw:
                failures.append(f"{url}: raw TeX left in the text: {sorted(set(raw))}")
            if info["katexErrors"]:
                failures.append(f"{url}: {info['katexErrors']} formulas KaTeX could not typeset")
            failures += [f"{url}: image not loaded: {i['src']}" for i in info["images"] if not i["ok"]]
            ids_of[urldefrag(url)[0]] = set(info["ids"])
            links |= {link for link in info["links"] if link.startswith(base)}
            if url.rstrip("/").endswith("/api"):
                missing = [n for n in api_names() if f"scratch_rnn.{n}" not in info["ids"]]
                if missing:
                    failures.append(f"{url}: the API page lacks {missing}")
                counts["API names"] = len(api_names()) - len(missing)
            page.close()
        request = context.request
        for link in sorted(links):
            target, fragment = urldefrag(link)
            counts["internal links"] += 1
            if target not in ids_of:
                status = request.get(target).status
                if status != 200:
                    failures.append(f"broken link: {link} ({status})")
                    continue
                if fragment and urlparse(target).path.endswith("/"):
                    page = context.new_page()
                    page.goto(target)
                    ids_of[target] = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
                    page.close()
            if fragment and target in ids_of and fragment not in ids_of[target]:
                failures.append(f"broken anchor: {link}")
        browser.close()
    server.shutdown()
    print("site check: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if "API names" not in counts:
        failures.append("no API page found")
    for f in failures:
        print("FAIL", f)
    print("site check passed" if not failures else f"site check FAILED ({len(failures)} problems)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
