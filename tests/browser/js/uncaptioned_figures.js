(figures) =>
  // The figures (images, the explorer, frames) that are not in a figure with a numbered caption.
  figures
    .filter((figure) => !figure.closest("figure")?.querySelector("figcaption .caption-number"))
    .map((figure) => (figure.alt || figure.className).slice(0, 60))
