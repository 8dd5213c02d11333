() => ({
  // Each figure's CSS filter and the background it is drawn on (its output panel's), and in how many columns
  // the explorer's controls stand.
  images: [...document.querySelectorAll("article .cell_output img")].map((image) => {
    const style = getComputedStyle(image), panel = image.closest(".text_html");
    return [style.filter, panel ? getComputedStyle(panel).backgroundColor : style.backgroundColor];
  }),
  columns: new Set([...document.querySelectorAll(".pgbook-explorer :is(input, select)")]
    .map((control) => Math.round(control.getBoundingClientRect().left))).size,
})
