() => {
  // Each inline formula's baseline against its line's: a zero-size inline-block sits on the baseline of the line it
  // is in, one just after the formula (the text's) and one inside the formula's math (MathJax's). And the boxes a
  // formula is in that scroll (a formula, or a box holding one, that a desktop browser would draw a scroll bar under).
  const offsets = [], scrolling = new Set();
  const scrolls = (el) => {
    const style = getComputedStyle(el);
    return (["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      || (["auto", "scroll"].includes(style.overflowY) && el.scrollHeight > el.clientHeight + 1);
  };
  for (const span of document.querySelectorAll("article span.math")) {
    const math = span.querySelector(":scope > mjx-container > mjx-math");
    if (!math || !span.getClientRects().length) continue;
    const text = document.createElement("span"), formula = document.createElement("span");
    for (const marker of [text, formula]) Object.assign(marker.style, {display: "inline-block", width: "0"});
    span.after(text);
    math.prepend(formula);
    offsets.push([formula.getBoundingClientRect().bottom - text.getBoundingClientRect().bottom, span.textContent]);
    text.remove();
    formula.remove();
    for (let el = span; el && el.tagName !== "ARTICLE"; el = el.parentElement) if (scrolls(el)) scrolling.add(el);
  }
  return {offsets, scrolling: [...scrolling].map((el) => `${el.tagName} ${el.textContent.slice(0, 40)}`)};
}
