() => {
  // Text and its background, composited through the translucent backgrounds behind it: the WCAG contrast ratio of
  // every piece of text on the page (article, sidebars, footer) below 4.5 (3 for large text).
  const parse = (c) => { const p = c.match(/rgba?\(([^)]+)\)/)[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const linear = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  const luminance = (rgb) => rgb.map(linear).reduce((sum, v, i) => sum + [0.2126, 0.7152, 0.0722][i] * v, 0);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let rgb = [255, 255, 255];
    for (const c of layers.reverse()) rgb = rgb.map((v, i) => v * (1 - c[3]) + c[i] * c[3]);
    return rgb;
  };
  const low = [];
  for (const el of document.querySelectorAll("article *, .bd-sidebar-primary a, .bd-sidebar-secondary a, footer *")) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
    if (!text || el.closest("mjx-assistive-mml, .visually-hidden, svg")) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    const fg = parse(style.color), bg = background(el);
    const [a, b] = [luminance(fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]))), luminance(bg)]
      .sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05), size = parseFloat(style.fontSize);
    if (ratio < (size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700) ? 3 : 4.5))
      low.push(`${ratio.toFixed(1)}: ${el.tagName} "${text.slice(0, 30)}" ${style.color} on ${bg.map(Math.round)}`);
  }
  return low;
}
