() => {
  // Where a name (inline code, an API signature) breaks over two lines (tests/browser/test_built_pages.py): the
  // number of line breaks inside names, and each one that is inside a word, with the characters either side.
  const bad = [];
  let checked = 0;
  for (const el of document.querySelectorAll("article code.literal, article dt.sig")) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let previous = null;  // [top, character] of the previous character
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest(".headerlink")) continue;
      for (let i = 0; i < node.length; i++) {
        if (/\s/.test(node.data[i])) {
          if (previous) previous[1] = " ";
          continue;
        }
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = [...range.getClientRects()].find((r) => r.width > 0);
        if (!rect) continue;
        const character = node.data[i];
        if (previous && rect.top > previous[0] + 2) {
          checked++;
          const between = /[._(,\s[\-"]/.test(previous[1]) || (/[a-z]/.test(previous[1]) && /[A-Z]/.test(character));
          if (!between) bad.push(`${el.textContent.trim().slice(0, 60)}: "${previous[1]}/${character}"`);
        }
        previous = [rect.top, character];
      }
    }
  }
  return {breaks: checked, bad: bad.slice(0, 15)};
}
