// Click (or tap) a figure to see it enlarged: the image at up to its full resolution (the PNGs are drawn at
// 2x), in a dialog that Escape, a click or the close button dismisses. A phone shows in place each figure drawn
// for its own column (book/_ext/phone_figures.py); enlarged, it shows the figure drawn for the book's column at
// its drawn width (text at its point size), wider than the screen, and the reader pans across it. The interactive figures' frames enlarge too (the frame shown).
document.addEventListener("click", (event) => {
  const image = event.target.closest("article .cell_output img, article figure img");
  if (!image || image.closest("a")) return;
  const dialog = document.createElement("dialog");
  dialog.className = "pgbook-enlarged";
  dialog.setAttribute("aria-label", image.alt ? `Enlarged: ${image.alt}` : "Enlarged figure");
  const large = image.cloneNode();
  large.removeAttribute("width");
  large.removeAttribute("height");
  large.style.removeProperty("width");  // a frame's "width: 100%", which would keep it at the column's width
  // The enlarged figure is the one drawn for the book's column (the image's src, outside its <picture>), also
  // on a phone, which shows in place the drawing for its own column. Its px per CSS px: SVG frames 1, PNGs 2.
  const drawnAt = image.src.startsWith("data:image/svg") ? 1 : 2;
  const drawnWidth = () => large.style.setProperty("--drawn-width", `${large.naturalWidth / drawnAt}px`);
  if (large.complete && large.naturalWidth) drawnWidth();
  else large.addEventListener("load", drawnWidth);
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Close");
  dialog.append(close, large);
  dialog.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
});
