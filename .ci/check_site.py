"""Check the built documentation site in a real browser: headless Chromium (the system's, never one
downloaded) driven by Playwright, against a local http.server of the site folder, with no network
beyond it. Every page: no console error, no failed request, every formula typeset by KaTeX (no raw
TeX delimiters left in the text, no KaTeX error), every image loaded (naturalWidth > 0), every
internal link and anchor resolving; the API pages list every name of scratch_rnn.__all__.

Its layout, at 1280 px and on a 390 px phone: no element wider than the content column outside a box
that scrolls, no paragraph that is a Markdown list left unparsed (a line starting with "- "), no
display equation clipped (wider than its box, which does not scroll), no figure shown below half of
its drawn size. `--self-test` first runs these layout checks on planted pages, each of which must
fail its check, and on a clean one, which must pass.

Usage: python .ci/check_site.py SITE_DIR [--chromium PATH] [--self-test]. Exits 1 on any failure, 2
when no browser."""
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
    inlineTex: [...document.querySelectorAll('article .katex')]
      .filter(k => !k.closest('.katex-display, a, h1, h2, h3, table'))
      .map(k => (k.querySelector('annotation[encoding="application/x-tex"]') || {textContent: ''}).textContent
        .replace(/\\s+/g, '')),
    glossaryLinked: [...document.querySelectorAll('article a.glossary-link annotation[encoding="application/x-tex"]')]
      .map(a => a.textContent.replace(/\\s+/g, '')),
  };
}"""


def glossary_symbols(path: Path = Path("docs/glossary.md")) -> set[str]:
    """Every symbol of the glossary as docs/assets/glossary.js reads it: the first formula of each table
    row's first cell, and each of its comma-separated parts."""
    keys: set[str] = set()
    for line in path.read_text().splitlines():
        m = re.match(r"\|\s*\$([^$]+)\$", line)
        if m:
            tex = re.sub(r"\s+", "", m.group(1))
            parts = [p for p in tex.split(",") if p]
            keys |= {tex, *(parts if len(parts) > 1 else [])}
    return keys

#: the layout problems of a page, at the viewport it is loaded at
LAYOUT_SCRIPT = """() => {
  const art = document.querySelector('article') || document.body;
  const edge = art.getBoundingClientRect().right;
  const viewport = document.documentElement.clientWidth;
  const contained = el => {               // inside a box that scrolls, or one that clips on purpose (KaTeX's
    for (let e = el.parentElement; e && e !== art.parentElement; e = e.parentElement) {   // hidden MathML)
      const o = getComputedStyle(e).overflowX;
      if (['auto', 'scroll', 'hidden', 'clip'].includes(o)) return true;
    }
    return false;
  };
  const scroller = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  // a box that scrolls (a table's, a formula's) and a code block may run to the screen's edge (Material's bleed)
  const limit = e => e.matches('.highlight, .highlight *') || scroller(e) ? viewport : edge;
  const name = e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ?
    '.' + e.className.trim().split(/\\s+/).join('.') : '') + (e.id ? '#' + e.id : '');
  const wide = [...art.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > limit(e) + 4 && !contained(e);
  });
  const outermost = wide.filter(e => !wide.includes(e.parentElement)).map(name);
  const dashes = [...art.querySelectorAll('p')].filter(p => /(^|\\n)\\s*- \\S/.test(p.textContent))
    .map(p => p.textContent.trim().slice(0, 60));
  const clipped = [...art.querySelectorAll('.katex-display')].filter(k => k.scrollWidth > k.clientWidth + 1 &&
    !['auto', 'scroll'].includes(getComputedStyle(k).overflowX)).map(k => k.textContent.slice(0, 40));
  const small = [...art.querySelectorAll('img')].filter(i => i.naturalWidth > 0 &&
    i.getBoundingClientRect().width / i.naturalWidth < 0.49).map(i => (i.currentSrc || i.src).split('/').pop() +
    ' at ' + (i.getBoundingClientRect().width / i.naturalWidth).toFixed(2));
  return {wide: outermost.slice(0, 5), dashes: dashes.slice(0, 3), clipped: clipped.slice(0, 3), small};
}"""

#: the viewports the layout is checked at: a laptop and a phone
VIEWPORTS = {"1280 px": {"width": 1280, "height": 900}, "390 px": {"width": 390, "height": 844}}


def layout_failures(page, url: str, where: str) -> list[str]:
    """The layout problems of the page loaded in `page`, each a line naming the page and the viewport."""
    page.wait_for_timeout(100)                                   # figure.js runs on each image's load
    info = page.evaluate(LAYOUT_SCRIPT)
    out = [f"{url} at {where}: wider than the content column, outside a box that scrolls: {info['wide']}"] \
        if info["wide"] else []
    out += [f"{url} at {where}: a paragraph that is an unparsed list: {t!r}" for t in info["dashes"]]
    out += [f"{url} at {where}: a display equation clipped: {t!r}" for t in info["clipped"]]
    out += [f"{url} at {where}: a figure below half of its drawn size: {t}" for t in info["small"]]
    return out


PLANTED = {   # page -> (the HTML inside its <article>, the check that must fail on it)
    "wide": ('<div style="width:3000px">a row wider than any column</div>', "wider than the content column"),
    "dashes": ("<p>Findings:\n- the first one\n- the second one</p>", "an unparsed list"),
    "clipped": ('<div class="katex-display" style="overflow:hidden"><span style="display:inline-block;width:3000px">'
                "x</span></div>", "a display equation clipped"),
    "small": ('<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 width=%222000%22 '
              'height=%22100%22%3E%3C/svg%3E" style="width:300px">', "a figure below half"),
    "clean": ('<p>Text.</p><ul><li>a real list</li></ul><div class="katex-display" style="overflow-x:auto">'
              '<span style="display:inline-block;width:3000px">x</span></div>', None),
}


def self_test(browser) -> list[str]:
    """Each layout check fails on its planted page and the clean page passes: the check can fail."""
    import tempfile
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (html, _) in PLANTED.items():
            (Path(tmp) / f"{name}.html").write_text(f"<!doctype html><html><body><article style='width:600px'>{html}"
                                                  "</article></body></html>")
        server, base = serve(Path(tmp))
        page = browser.new_page(viewport=VIEWPORTS["1280 px"])
        for name, (_, check) in PLANTED.items():
            page.goto(urljoin(base, f"{name}.html"))
            found = layout_failures(page, name, "1280 px")
            if check is None and found:
                problems.append(f"self-test: the clean page fails: {found}")
            if check is not None and not any(check in f for f in found):
                problems.append(f"self-test: the check '{check}' does not fail on its planted page: {found}")
        page.close()
        server.shutdown()
    return problems


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
    ap.add_argument("--self-test", action="store_true", help="first show each layout check failing on a planted page")
    args = ap.parse_args()
    if not args.chromium:
        print("check_site: no Chromium found (install Debian's `chromium`); the site cannot be checked", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    server, base = serve(args.site)
    urls = page_urls(args.site, base)
    failures: list[str] = []
    counts = {"pages": 0, "formulas": 0, "images": 0, "internal links": 0, "glossary links": 0}
    symbols = glossary_symbols(args.site.parent / "docs" / "glossary.md")
    ids_of: dict[str, set[str]] = {}
    links: set[str] = set()
    api_ids: set[str] = set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        if args.self_test:
            planted = self_test(browser)
            for f in planted:
                print("FAIL", f)
            if planted:
                return 1
            print(f"layout self-test passed: each of {len(PLANTED) - 1} checks fails on its planted page")
        context = browser.new_context(viewport=VIEWPORTS["1280 px"])
        phone = browser.new_context(viewport=VIEWPORTS["390 px"], is_mobile=True, has_touch=True)
        phone.route(re.compile(r"^(?!http://127\.0\.0\.1).*"), lambda route: route.abort())
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
            if not urlparse(url).path.rstrip("/").endswith("glossary"):
                unlinked = sorted((set(info["inlineTex"]) & symbols) - set(info["glossaryLinked"]))
                if unlinked:
                    failures.append(f"{url}: glossary symbols used but not linked to the glossary: {unlinked}")
                counts["glossary links"] += len(info["glossaryLinked"])
            links |= {link for link in info["links"] if link.startswith(base)}
            if "/api/" in url:
                api_ids |= set(info["ids"])
            failures += layout_failures(page, url, "1280 px")
            page.close()
            small = phone.new_page()
            small.goto(url, wait_until="networkidle")
            failures += layout_failures(small, url, "390 px")
            small.close()
        missing = [n for n in api_names() if f"scratch_rnn.{n}" not in api_ids]
        if missing:
            failures.append(f"the API pages lack {missing}")
        counts["API names"] = len(api_names()) - len(missing)
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
    print("site check: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + " (layout at " +
          " and ".join(VIEWPORTS) + ")")
    for f in failures:
        print("FAIL", f)
    print("site check passed" if not failures else f"site check FAILED ({len(failures)} problems)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
