// Click (or tap) a figure to see it enlarged: the image at up to its full resolution (the PNGs are drawn at
// 2x), in a dialog that Escape, a click or the close button dismisses.
document.addEventListener("click", (event) => {
  const image = event.target.closest("article .cell_output img, article figure img");
  if (!image || image.closest("a, .pgbook-frames")) return;
  const dialog = document.createElement("dialog");
  dialog.className = "pgbook-enlarged";
  dialog.setAttribute("aria-label", image.alt ? `Enlarged: ${image.alt}` : "Enlarged figure");
  const large = image.cloneNode();
  large.removeAttribute("width");
  large.removeAttribute("height");
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
