// Figures of the pages: each opens at full size on a click; one that the column would shrink below
// half of its drawn size (a multi-panel figure, or any figure on a phone) keeps that half size inside
// a box that scrolls sideways, so its labels stay readable.
const MIN_SCALE = 0.5;

function fitFigure(img) {
  const column = img.closest("article");
  if (!column || !img.naturalWidth) return;
  if (!img.parentElement.classList.contains("figure-link")) {
    const link = document.createElement("a");
    link.href = img.currentSrc || img.src;
    link.className = "figure-link";
    link.title = "open the figure at full size";
    img.replaceWith(link);
    link.appendChild(img);
  }
  const link = img.parentElement;
  if (img.getBoundingClientRect().width < img.naturalWidth * MIN_SCALE - 1) {   // shrunk by its column
    if (!link.parentElement.classList.contains("figure-scroll")) {
      const box = document.createElement("div");
      box.className = "figure-scroll";
      link.replaceWith(box);
      box.appendChild(link);
    }
    img.style.maxWidth = "none";                                 // over any stylesheet's max-width: 100%
    img.style.width = Math.round(img.naturalWidth * MIN_SCALE) + "px";
  }
}

function fitFigures() {
  document.querySelectorAll("article img").forEach(img => {
    if (img.complete) fitFigure(img); else img.addEventListener("load", () => fitFigure(img), { once: true });
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(fitFigures);   // Material's instant navigation
} else {
  document.addEventListener("DOMContentLoaded", fitFigures);
}
