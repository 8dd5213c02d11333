() => Promise.all(
  // Each figure's alt text and the width it is shown at over the width it was drawn for (PNGs at 2x).
  [...document.querySelectorAll("article .cell_output img:not(.pgbook-frames img)")].map(async (image) => {
    await image.decode().catch(() => null);
    return [image.alt.slice(0, 50), image.getBoundingClientRect().width / (image.naturalWidth / 2)];
  }))
