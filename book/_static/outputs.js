// Printed tables keep their columns on a phone. This marks each output laid out in columns (two or more lines
// with a run of two or more spaces between values: a table, an aligned list, a numpy array); pgbook.css keeps the
// rows of a marked output on one line on a phone, where wrapping broke each row in two. tests/test_browser.py
// checks that no such row wraps on a phone.
function markColumnOutputs() {
  for (const pre of document.querySelectorAll(".cell_output pre, .output pre")) {
    const rows = pre.textContent.split("\n").filter((line) => /\S {2,}\S/.test(line));
    if (rows.length >= 2) pre.classList.add("pgbook-columns");
  }
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markColumnOutputs);
else markColumnOutputs();
