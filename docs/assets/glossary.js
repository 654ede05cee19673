// Every symbol of the glossary, linked where a page first uses it: the first inline formula that is exactly
// a glossary symbol (h_t, \bar h_t, M_t, ...) becomes a link to its row of the glossary, with the row's
// meaning as its tooltip. On the glossary page itself each row gets the anchor those links point to.
// Runs after KaTeX (katex-init.js) has typeset the page; reads the glossary page from the site itself.

function texOf(el) {                       // the TeX source KaTeX keeps beside what it drew
  const a = el.querySelector('annotation[encoding="application/x-tex"]');
  return a ? a.textContent.replace(/\s+/g, "") : null;
}

function symbolSlug(tex) {
  return "sym-" + tex.replace(/\\/g, "").replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

function splitSymbols(tex) {               // "i_t,f_t,g_t,o_t" -> each one, and the whole cell
  const parts = tex.split(",").filter(p => p.length);
  return parts.length > 1 ? [tex, ...parts] : [tex];
}

function glossaryRows(root) {              // [[TeX keys], meaning, slug] for each row of a glossary table
  const rows = [];
  root.querySelectorAll("article table tbody tr").forEach(tr => {
    const cells = tr.querySelectorAll("td");
    if (cells.length < 2) return;
    const typeset = cells[0].querySelector(".katex"), raw = cells[0].querySelector(".arithmatex");
    if (!typeset && !raw) return;                                     // typeset here, raw in the fetched page
    const tex = typeset ? texOf(typeset) : raw.textContent.replace(/^\\\(|\\\)$/g, "").replace(/\s+/g, "");
    rows.push({ tr, keys: splitSymbols(tex), meaning: cells[cells.length - 1].textContent.replace(/\\[()]/g, "").trim(), slug: symbolSlug(tex) });
  });
  return rows;
}

function glossaryBase() {
  const config = document.getElementById("__config");
  const base = config ? JSON.parse(config.textContent).base : ".";
  return new URL(base.replace(/\/?$/, "/") + "glossary/", location.href);
}

async function linkSymbols() {
  const url = glossaryBase();
  if (location.pathname.replace(/\/?$/, "/") === url.pathname) {        // the glossary: anchor every row
    glossaryRows(document).forEach(r => { r.tr.id = r.slug; });
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
    return;
  }
  let html;
  try {
    html = await (await fetch(url)).text();
  } catch (e) {
    return;                                                            // a page opened from disk: no links
  }
  const table = new Map();
  glossaryRows(new DOMParser().parseFromString(html, "text/html")).forEach(r =>
    r.keys.forEach(k => { if (!table.has(k)) table.set(k, r); }));
  const seen = new Set();
  document.querySelectorAll("article .katex").forEach(k => {
    if (k.closest(".katex-display, a, h1, h2, h3, table")) return;     // inline prose only, once a symbol
    const tex = texOf(k);
    const row = tex && table.get(tex);
    if (!row || seen.has(tex)) return;
    seen.add(tex);
    const link = document.createElement("a");
    link.className = "glossary-link";
    link.href = url.pathname + "#" + row.slug;
    link.title = row.meaning;
    const host = k.closest(".arithmatex") || k;
    host.replaceWith(link);
    link.appendChild(host);
  });
}

if (typeof document$ !== "undefined") {
  document$.subscribe(linkSymbols);   // Material's instant navigation, after katex-init.js's subscription
} else {
  document.addEventListener("DOMContentLoaded", linkSymbols);
}
