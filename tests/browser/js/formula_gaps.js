() => [...document.querySelectorAll("article span.math")].flatMap((span) => {
  // Each inline formula that starts with "=" and follows another on the same line ("p(τ) ${} = μ0 ...$"): the gap
  // between the previous formula and the sign, the gap after the sign, and the formula's text.
  const math = span.querySelector("mjx-math"), first = math && math.firstElementChild;
  const previous = span.previousElementSibling;
  if (!first || first.tagName !== "MJX-TEXATOM" || first.children.length || !previous?.matches("span.math"))
    return [];
  const sign = math.children[1].querySelector("mjx-c").getBoundingClientRect();
  if (Math.abs(previous.getBoundingClientRect().top - span.getBoundingClientRect().top) > 5) return [];
  return [[sign.left - previous.getBoundingClientRect().right,
           math.children[2].getBoundingClientRect().left - sign.right, span.textContent.slice(0, 20)]];
})
