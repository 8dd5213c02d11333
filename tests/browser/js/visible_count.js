(elements) =>
  // How many of the elements are shown: a box of some size, not hidden.
  elements.filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== "hidden";
  }).length
