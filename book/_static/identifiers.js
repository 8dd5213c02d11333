// Long names break where a reader expects, after "." or "_" or "(" (pg.exercises. / check_visitation) or between
// the words of a CamelCase name (Exact / Ascent / History), not inside a word ("discounted_visita / tion("): in
// inline code and API signatures, each of those places gets a line-break opportunity (<wbr>, which copying leaves out). pgbook.css still lets a name break anywhere as the
// last resort, for a part too long for the line. tests/browser/test_built_pages.py checks where names break on a phone.
function breakNames() {
  for (const element of document.querySelectorAll("article code.literal, article dt.sig")) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const texts = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (/[._(].|[a-z][A-Z]/.test(node.data) && !node.parentElement.closest(".headerlink")) texts.push(node);
    }
    for (const node of texts) {
      const parts = node.data.split(/(?<=[._(])(?=.)|(?<=[a-z])(?=[A-Z])/);
      const nodes = parts.flatMap((part, index) => (index ? [document.createElement("wbr"), part] : [part]));
      node.replaceWith(...nodes);
    }
  }
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", breakNames);
else breakNames();
