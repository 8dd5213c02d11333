() => {
  // What is wider than its place on the page. "cut": a box that reaches past an ancestor which clips it without
  // a scroll bar (the reader cannot see its end). "scrolling": a box that the reader has to scroll sideways.
  // "wrapped": a row of an output laid out in columns (two or more lines with a run of two or more spaces between
  // values: a printed table, an aligned list, a numpy array) broken over two lines, its columns lost.
  const root = document.documentElement;
  const name = (el) => `${el.tagName.toLowerCase()} "${(el.innerText || el.textContent || "").replace(/\s+/g, " ")
    .trim().slice(0, 50)}"`;
  const scrolls = (el) => el.scrollWidth > el.clientWidth + 1;
  const found = (selector) => [...document.querySelectorAll(selector)].filter(scrolls).map(name);
  const cut = [];
  for (const el of document.querySelectorAll("article *")) {
    if (el.closest("mjx-assistive-mml, .visually-hidden, dialog")) continue;  // hidden on purpose
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    for (let parent = el.parentElement; parent && parent !== root; parent = parent.parentElement) {
      const style = getComputedStyle(parent);
      if (style.display === "inline" || style.overflowX === "visible") continue;
      if (["hidden", "clip"].includes(style.overflowX) && box.right > parent.getBoundingClientRect().right + 1)
        cut.push(`${name(el)} in ${name(parent)}`);
      break;
    }
  }
  const row = /\S {2,}\S/;
  const columns = [...document.querySelectorAll(".cell_output pre, .output pre")]
    .filter((pre) => pre.textContent.split("\n").filter((line) => row.test(line)).length >= 2);
  const wrapped = [];
  for (const pre of columns) {
    const texts = [], walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) texts.push(node);
    let start = 0;
    for (const line of pre.textContent.split("\n")) {
      if (row.test(line)) {  // the line's own rectangles: more than one top is a line broken in two
        const range = document.createRange();
        let offset = 0;
        for (const node of texts) {
          const end = offset + node.textContent.length;
          if (start >= offset && start <= end) range.setStart(node, start - offset);
          if (start + line.length >= offset && start + line.length <= end) {
            range.setEnd(node, start + line.length - offset);
            break;
          }
          offset = end;
        }
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) wrapped.push(line.trim().slice(0, 60));
      }
      start += line.length + 1;
    }
  }
  const equations = [...document.querySelectorAll('mjx-container[display="true"]')].filter(scrolls);
  // A scroll box (desktop browsers draw its bar, which headless Chromium hides) holding more than it shows.
  const scrollbox = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX) && scrolls(el);
  return {
    page: root.scrollWidth > root.clientWidth + 1 ? `${root.scrollWidth} px wide in ${root.clientWidth}` : null,
    cut: cut.slice(0, 10),
    outputs: found(".cell_output pre, .output pre"),
    prose_outputs: [...document.querySelectorAll(".cell_output pre, .output pre")]
      .filter((pre) => !columns.includes(pre) && scrolls(pre)).map(name),
    wrapped: wrapped.slice(0, 10),
    tables: found(".pst-scrollable-table-container, table"),
    equations: equations.map(name),
    formulas: [...document.querySelectorAll("article span.math")].filter(scrollbox).map(name),
    boxed_equations: equations.filter((el) => el.closest(".proof, .admonition, .exercise, .solution")).map(name),
  };
}
