// Printed tables keep their columns on a phone. In each output laid out in columns (two or more rows with a run
// of two or more spaces between values: a table, an aligned list, a numpy array), each row becomes a
// span.pgbook-row, which pgbook.css keeps on one line on a phone (wrapped, a row broke in two and its columns were
// lost); the output's other lines (a title, a sentence) wrap as any printed text does. tests/browser/test_built_pages.py
// checks that no row wraps on a phone.
const isRow = (line) => /\S {2,}\S/.test(line);

function markColumnOutputs() {
  for (const pre of document.querySelectorAll(".cell_output pre, .output pre")) {
    const lines = pre.textContent.split("\n");
    if (lines.filter(isRow).length < 2) continue;
    pre.classList.add("pgbook-columns");
    // Pygments starts each output with an empty span; an output with coloured text is left whole (as a table)
    if ([...pre.children].some((child) => child.textContent !== "")) continue;
    const nodes = [];
    lines.forEach((line, index) => {
      if (index > 0) nodes.push("\n");
      if (!isRow(line)) nodes.push(line);
      else {
        const row = document.createElement("span");
        row.className = "pgbook-row";
        row.textContent = line;
        nodes.push(row);
      }
    });
    pre.replaceChildren(...nodes);
  }
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markColumnOutputs);
else markColumnOutputs();
