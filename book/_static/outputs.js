// Printed tables keep their columns. An output laid out in columns (two or more lines with a run of two or more
// spaces between values: a table, an aligned list, a numpy array) does not wrap, which on a phone broke each
// row over two lines; one wider than the text column scrolls inside its own box, the last resort (as a wide
// equation does on a phone). pgbook.css styles `pre.pgbook-columns`; tests/test_browser.py checks that no row
// of such an output wraps, and that on a laptop none is wider than the column.
function markColumnOutputs() {
  for (const pre of document.querySelectorAll(".cell_output pre, .output pre")) {
    const rows = pre.textContent.split("\n").filter((line) => /\S {2,}\S/.test(line));
    if (rows.length >= 2) pre.classList.add("pgbook-columns");
  }
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markColumnOutputs);
else markColumnOutputs();
