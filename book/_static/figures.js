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
  // px per CSS px: SVG frames, 2x PNGs. The enlarged figure is the one drawn for the column (the image's src),
  // also on a phone, which shows the drawing for its own column in place (a <picture> source).
  const drawnAt = image.src.startsWith("data:image/svg") ? 1 : 2;
  large.style.setProperty("--drawn-width", `${image.naturalWidth / drawnAt}px`);
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
