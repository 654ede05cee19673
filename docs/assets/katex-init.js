// Typeset every formula of the page with the KaTeX files served by the site itself (no CDN):
// \( \) and \[ \] from the Markdown pages (pymdownx.arithmatex), $ $ and $$ $$ from the notebook.
function renderMath() {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    ignoredClasses: ["highlight", "jp-OutputArea", "output_area"],
    throwOnError: false,
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(renderMath);   // Material's instant navigation
} else {
  document.addEventListener("DOMContentLoaded", renderMath);
}
