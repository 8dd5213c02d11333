// The gradient explorer's view (pgbook.figures.explorer): plain SVG, drawn from numbers Python computed.
// Both answer every control from every number, decoded once (points): mountStatic(el, data) from the numbers
// embedded in the page (no kernel), renderLive({model, el}) (the anywidget view) from those the kernel sent once.
const NS = "http://www.w3.org/2000/svg";
const NO_COSINE = -32768;
const COLOURS = { exact: "#000", fd: "#ff7f0e", estimate: "#d62728" };
const HALF = new Float32Array(65536); // float16 bit pattern -> value
for (let h = 0; h < 65536; h++) {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  HALF[h] = exponent === 0 ? sign * fraction * 2 ** -24
    : exponent === 31 ? (fraction ? NaN : sign * Infinity)
    : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
let figures = 0;

function bytesOf(base64) { return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)); }

function decode(raw, bytes) { // little-endian float32 (bytes = 4), float16 (2) or int16 ("i2")
  if (bytes === 4) return new Float32Array(raw.buffer);
  if (bytes === "i2") return new Int16Array(raw.buffer);
  const half = new Uint16Array(raw.buffer), out = new Float32Array(half.length);
  for (let k = 0; k < half.length; k++) out[k] = HALF[half[k]];
  return out;
}

async function inflate(base64, size) { // zlib-compressed byte planes of values of size bytes (explorer.py's _encode)
  const stream = new Blob([bytesOf(base64)]).stream().pipeThrough(new DecompressionStream("deflate"));
  const planes = new Uint8Array(await new Response(stream).arrayBuffer()), n = planes.length / size;
  const raw = new Uint8Array(planes.length);
  for (let b = 0; b < size; b++) for (let k = 0; k < n; k++) raw[k * size + b] = planes[b * n + k];
  return raw;
}

function niceLimit(value) { // the smallest of 1, 2 or 5 × 10^k that is at least value
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((limit) => limit >= value);
}

function fmt(x) { return Number.isFinite(x) ? Number(x.toPrecision(3)).toString().replace("-", "−") : "—"; }

function node(parent, tag, attributes = {}, text) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  parent.appendChild(element);
  return element;
}

const STYLE = `
.pgx { font: 14px/1.4 system-ui, sans-serif; max-width: 760px; }
.pgx-controls { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 4px 14px; }
.pgx-controls label { display: flex; flex-direction: column; }
.pgx-controls input, .pgx-controls select { width: 100%; min-height: 28px; }
.pgx-controls select:disabled { opacity: 0.45; }
.pgx-title { margin: 8px 0 2px; font-weight: 600; }
.pgx-panels { display: flex; flex-wrap: wrap; gap: 6px; }
.pgx-panels svg { flex: 1 1 300px; max-width: 380px; height: auto; font: 13px system-ui, sans-serif; }
.pgx-legend span { display: inline-flex; align-items: center; gap: 4px; margin-right: 12px; white-space: nowrap; }
.pgx-numbers { font-variant-numeric: tabular-nums; margin: 2px 0; }`;

// Builds the figure in el; returns draw(state, point), point = {exact, fd, table} at the state's θ and γ.
function build(el, spec, state, onInput) {
  const id = `pgx${++figures}`, nN = spec.counts.length;
  el.classList.add("pgx");
  el.innerHTML = "";
  const style = document.createElement("style");
  style.textContent = STYLE;
  el.appendChild(style);
  const controls = document.createElement("div");
  controls.className = "pgx-controls";
  el.appendChild(controls);
  const fields = {};
  const range = (name, label, labels) => {
    const wrapper = document.createElement("label");
    wrapper.innerHTML = `<span>${label} = <output></output></span><input type="range" min="0" max="${labels.length - 1}" step="1">`;
    const input = wrapper.querySelector("input");
    input.name = name;
    input.setAttribute("aria-label", label);
    controls.appendChild(wrapper);
    fields[name] = { input, show: (k) => { // a screen reader says the value ("50"), not the index ("5")
      wrapper.querySelector("output").textContent = labels[k];
      input.setAttribute("aria-valuetext", labels[k]);
    } };
  };
  const menu = (name, label, options) => {
    const wrapper = document.createElement("label");
    wrapper.innerHTML = `<span>${label}</span><select>${options.map((o, k) => `<option value="${k}">${o}</option>`).join("")}</select>`;
    const input = wrapper.querySelector("select");
    input.name = name;
    controls.appendChild(wrapper);
    fields[name] = { input, show: () => {} };
  };
  const axisLabels = spec.axis.map((v) => fmt(v));
  range("theta0", "θ₀", axisLabels);
  range("theta1", "θ₁", axisLabels);
  range("gamma", "γ", spec.gammas.map(String));
  range("n", "episodes N", spec.counts.map(String));
  menu("estimator", "estimator", spec.estimators);
  menu("baseline", "baseline", spec.baselines);
  for (const [name, field] of Object.entries(fields)) {
    field.input.addEventListener("input", () => onInput(name, Number(field.input.value)));
  }
  const title = document.createElement("p");
  title.className = "pgx-title";
  el.appendChild(title);
  const panels = document.createElement("div");
  panels.className = "pgx-panels";
  el.appendChild(panels);

  // The landscape: J(θ) for each γ (an image and its contour lines), and the three gradients at θ.
  const map = node(panels, "svg", { viewBox: "0 0 340 350", role: "img" });
  const defs = node(map, "defs");
  for (const [name, colour] of Object.entries(COLOURS)) {
    const marker = node(defs, "marker", { id: `${id}-${name}`, viewBox: "0 0 10 10", refX: 8, refY: 5,
      markerWidth: 4, markerHeight: 4, orient: "auto-start-reverse" });
    node(marker, "path", { d: "M0,0 L10,5 L0,10 z", fill: colour });
  }
  const box = { left: 50, right: 330, top: 8, bottom: 258 };
  const [low, high] = spec.extent;
  const px = (v) => box.left + ((v - low) / (high - low)) * (box.right - box.left);
  const py = (v) => box.bottom - ((v - low) / (high - low)) * (box.bottom - box.top);
  const layers = spec.landscapes.map((landscape) => {
    const group = node(map, "g", { display: "none" });
    node(group, "image", { href: landscape.image, x: box.left, y: box.top, width: box.right - box.left,
      height: box.bottom - box.top, preserveAspectRatio: "none" });
    const d = landscape.contours.map((line) => {
      let path = "";
      for (let k = 0; k < line.length; k += 2) {
        const x = line[k] / 1000, y = line[k + 1] / 1000; // stored in thousandths of the map
        path += `${k ? "L" : "M"}${(box.left + x * (box.right - box.left)).toFixed(1)},${(box.bottom - y * (box.bottom - box.top)).toFixed(1)}`;
      }
      return path;
    }).join("");
    node(group, "path", { d, fill: "none", stroke: "#fff", "stroke-width": 0.7, "stroke-opacity": 0.7 });
    return group;
  });
  node(map, "rect", { x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top,
    fill: "none", stroke: "#444" });
  for (const v of spec.axis.filter((_, k) => k % 2 === 0)) {
    node(map, "text", { x: px(v), y: box.bottom + 16, "text-anchor": "middle" }, fmt(v));
    node(map, "text", { x: box.left - 5, y: py(v) + 4, "text-anchor": "end" }, fmt(v));
  }
  node(map, "text", { x: (box.left + box.right) / 2, y: box.bottom + 34, "text-anchor": "middle" }, spec.names[0]);
  node(map, "text", { transform: `translate(13 ${(box.top + box.bottom) / 2}) rotate(-90)`, "text-anchor": "middle" }, spec.names[1]);
  const gradient = node(defs, "linearGradient", { id: `${id}-viridis` });
  spec.viridis.forEach((colour, k) => node(gradient, "stop", { offset: k / (spec.viridis.length - 1), "stop-color": colour }));
  node(map, "rect", { x: 130, y: 302, width: 120, height: 10, fill: `url(#${id}-viridis)` });
  node(map, "text", { x: 124, y: 311, "text-anchor": "end" }, "J(θ):");
  const colourLow = node(map, "text", { x: 130, y: 328, "text-anchor": "middle" });
  const colourHigh = node(map, "text", { x: 250, y: 328, "text-anchor": "middle" });
  const arrow = (name, width) => node(map, "line", { stroke: COLOURS[name], "stroke-width": width,
    "marker-end": `url(#${id}-${name})` });
  const arrows = [arrow("exact", 5), arrow("fd", 2), arrow("estimate", 3)];
  const dot = node(map, "circle", { r: 4, fill: "#fff", stroke: "#000" });

  // The bars: each component of the estimate, its ± 2 SE interval, the exact and finite-difference values.
  const bars = node(panels, "svg", { viewBox: "0 0 340 350", role: "img" });
  const plot = { left: 62, right: 330, top: 12, bottom: 300 };
  const ticks = [-1, -0.5, 0, 0.5, 1].map((f) => {
    node(bars, "line", { x1: plot.left, x2: plot.right, stroke: f ? "#e4e4e4" : "#888", "data-f": f });
    return [f, node(bars, "text", { x: plot.left - 5, "text-anchor": "end" })];
  });
  const grid = [...bars.querySelectorAll("line")];
  node(bars, "rect", { x: plot.left, y: plot.top, width: plot.right - plot.left, height: plot.bottom - plot.top,
    fill: "none", stroke: "#444" });
  node(bars, "text", { transform: `translate(13 ${(plot.top + plot.bottom) / 2}) rotate(-90)`, "text-anchor": "middle" },
    "gradient component");
  const columns = [0, 1].map((c) => {
    const x = plot.left + (c + 0.5) * (plot.right - plot.left) / 2;
    node(bars, "text", { x, y: plot.bottom + 20, "text-anchor": "middle" }, `∂J/∂θ${"₀₁"[c]}`);
    return {
      bar: node(bars, "rect", { x: x - 35, width: 70, fill: COLOURS.estimate, "fill-opacity": 0.4 }),
      interval: node(bars, "line", { x1: x, x2: x, stroke: COLOURS.estimate, "stroke-width": 3 }),
      exact: node(bars, "line", { x1: x - 55, x2: x - 15, stroke: COLOURS.exact, "stroke-width": 4 }),
      fd: node(bars, "path", { fill: "none", stroke: COLOURS.fd, "stroke-width": 2.5 }),
      fdX: x + 35,
    };
  });
  const numbers = document.createElement("p");
  numbers.className = "pgx-numbers";
  el.appendChild(numbers);
  const legend = document.createElement("p");
  legend.className = "pgx-legend";
  const swatch = (svg, label) => `<span><svg width="26" height="14" aria-hidden="true">${svg}</svg>${label}</span>`;
  legend.innerHTML = [
    swatch(`<line x1="1" y1="7" x2="25" y2="7" stroke="#000" stroke-width="4"/>`, "exact"),
    swatch(`<line x1="1" y1="7" x2="25" y2="7" stroke="${COLOURS.fd}" stroke-width="2"/><path d="M9,3 l8,8 m0,-8 l-8,8" stroke="${COLOURS.fd}" stroke-width="2"/>`, "finite differences"),
    swatch(`<rect x="1" y="1" width="24" height="12" fill="${COLOURS.estimate}" fill-opacity="0.4"/>`, "estimate (bar, arrow)"),
    swatch(`<line x1="13" y1="0" x2="13" y2="14" stroke="${COLOURS.estimate}" stroke-width="3"/>`, "± 2 SE"),
  ].join("");
  el.appendChild(legend);

  return function draw(state, point) {
    for (const [name, field] of Object.entries(fields)) {
      field.input.value = state[name];
      field.show(state[name]);
    }
    const exactOption = state.estimator === 2;
    fields.baseline.input.disabled = exactOption;
    fields.baseline.input.title = exactOption ? "the exact advantage is already centred: no baseline" : "";
    const option = exactOption ? spec.options.length - 1 : state.estimator * spec.baselines.length + state.baseline;
    const at = (option * nN + state.n) * 4, row = point.table, { exact, fd } = point;
    const unit = Math.max(Math.hypot(...exact), 1e-12); // the table is in units of |exact gradient|
    const mean = [row[at] * unit, row[at + 1] * unit], se = [row[at + 2] * unit, row[at + 3] * unit];
    // The printed cosine: the view's estimate from the stored numbers plus the stored residual (explorer.py's
    // _cosine_residuals: the same operations, in the same order).
    const product = row[at] * exact[0] + row[at + 1] * exact[1];
    const norms = Math.sqrt(row[at] * row[at] + row[at + 1] * row[at + 1]) * Math.sqrt(exact[0] * exact[0] + exact[1] * exact[1]);
    const residual = point.cosines[option * nN + state.n];
    const estimate = Number.isFinite(norms) && norms > 0 ? Math.floor(1000 * (product / norms) + 0.5) : 0;
    const cosine = residual === NO_COSINE ? NaN : (estimate + residual) / 1000;
    const gamma = spec.gammas[state.gamma], n = spec.counts[state.n];
    layers.forEach((layer, k) => layer.setAttribute("display", k === state.gamma ? "inline" : "none"));
    colourLow.textContent = fmt(spec.landscapes[state.gamma].vmin);
    colourHigh.textContent = fmt(spec.landscapes[state.gamma].vmax);
    const theta = [spec.axis[state.theta0], spec.axis[state.theta1]];
    // ∇J a quarter of the grid long; all three arrows shortened alike to stay on the map
    let scale = (0.25 * (spec.axis[spec.axis.length - 1] - spec.axis[0])) / Math.max(Math.hypot(...exact), 1e-12);
    for (const vector of [exact, fd, mean].filter((v) => v.every(Number.isFinite)))
      vector.forEach((v, c) => {
        const room = (v > 0 ? high : low) - theta[c];
        if (v !== 0) scale = Math.min(scale, room / v);
      });
    [exact, fd, mean].forEach((vector, k) => {
      const drawn = vector.every(Number.isFinite);
      arrows[k].setAttribute("display", drawn ? "inline" : "none");
      if (!drawn) return;
      arrows[k].setAttribute("x1", px(theta[0]));
      arrows[k].setAttribute("y1", py(theta[1]));
      arrows[k].setAttribute("x2", px(theta[0] + vector[0] * scale));
      arrows[k].setAttribute("y2", py(theta[1] + vector[1] * scale));
    });
    dot.setAttribute("cx", px(theta[0]));
    dot.setAttribute("cy", py(theta[1]));
    const values = [...exact, ...fd, ...mean.flatMap((m, c) => [m - 2 * se[c], m + 2 * se[c], m])].filter(Number.isFinite);
    const limit = niceLimit(1.15 * Math.max(...values.map(Math.abs), 1e-9));
    const y = (v) => plot.top + ((limit - v) / (2 * limit)) * (plot.bottom - plot.top);
    ticks.forEach(([f, text], k) => {
      text.setAttribute("y", y(f * limit) + 4);
      text.textContent = fmt(f * limit);
      grid[k].setAttribute("y1", y(f * limit));
      grid[k].setAttribute("y2", y(f * limit));
    });
    columns.forEach((column, c) => {
      const m = Number.isFinite(mean[c]) ? mean[c] : 0, interval = Number.isFinite(se[c]);
      column.bar.setAttribute("y", Math.min(y(m), y(0)));
      column.bar.setAttribute("height", Math.abs(y(m) - y(0)));
      column.interval.setAttribute("display", interval ? "inline" : "none");
      if (interval) {
        column.interval.setAttribute("y1", y(mean[c] - 2 * se[c]));
        column.interval.setAttribute("y2", y(mean[c] + 2 * se[c]));
      }
      column.exact.setAttribute("y1", y(exact[c]));
      column.exact.setAttribute("y2", y(exact[c]));
      const fy = y(fd[c]);
      column.fd.setAttribute("d", `M${column.fdX - 6},${fy - 6} l12,12 m0,-12 l-12,12`);
    });
    title.textContent = `N = ${n} episode${n > 1 ? "s" : ""}, γ = ${gamma}: cosine(estimate, exact) = ${Number.isFinite(cosine) ? cosine.toFixed(3) : "undefined"}`;
    numbers.textContent = Number.isFinite(mean[0]) ? ""
      : "No estimate: this baseline is estimated from the other episodes, and there are none.";
    map.setAttribute("aria-label", `J over θ, γ = ${gamma}, with the exact, finite-difference and estimated gradients at θ = (${theta.map(fmt)})`);
    bars.setAttribute("aria-label", `the two components of the estimate, its ± 2 SE interval, the exact and finite-difference gradients; cosine ${title.textContent.split("= ").pop()}`);
    Object.assign(el.dataset, {
      state: [state.theta0, state.theta1, state.gamma, state.n, state.estimator, state.baseline].join(","),
      mean: mean.join(","), se: se.join(","), cosine: String(cosine), exact: exact.join(","), fd: fd.join(","),
    });
  };
}

// Every number (explorer.py's GradientExplorer.numbers), decoded; returns point(state): the numbers at the
// state's θ and γ ({exact, fd, table, cosines}, the table in units of |exact|).
async function points(spec, numbers) {
  const exact = decode(bytesOf(numbers.exact), 4), fd = decode(bytesOf(numbers.fd), 4);
  const stored = decode(await inflate(numbers.table, 2), 2), cosines = decode(await inflate(numbers.cosines, 2), "i2");
  const size = spec.options.length * spec.counts.length * 4, side = spec.axis.length;
  // stored in the order (component, N, option, θ₀, θ₁, γ) (explorer.py's STATIC_ORDER): back to
  // (γ, θ₀, θ₁, option, N, component), each point's numbers together
  const [G, O, M] = [spec.gammas.length, spec.options.length, spec.counts.length], table = new Float32Array(stored.length);
  let k = 0;
  for (let g = 0; g < G; g++) for (let i = 0; i < side; i++) for (let j = 0; j < side; j++)
    for (let o = 0; o < O; o++) for (let m = 0; m < M; m++) for (let c = 0; c < 4; c++)
      table[k++] = stored[((((c * M + m) * O + o) * side + i) * side + j) * G + g];
  return (state) => {
    const cell = (state.gamma * side + state.theta0) * side + state.theta1;
    return { exact: [...exact.subarray(2 * cell, 2 * cell + 2)], fd: [...fd.subarray(2 * cell, 2 * cell + 2)],
      table: table.subarray(cell * size, (cell + 1) * size),
      cosines: cosines.subarray((cell * size) / 4, ((cell + 1) * size) / 4) };
  };
}

export async function mountStatic(el, data) {
  const state = { ...data.state }, point = await points(data.spec, data);
  const draw = build(el, data.spec, state, (name, value) => { state[name] = value; draw(state, point(state)); });
  draw(state, point(state));
}

export async function renderLive({ model, el }) {
  // JupyterLab's notebook shortcuts (arrow keys select cells in command mode) would take the keys of the
  // sliders and menus: Lumino skips its key bindings for events from inside this attribute.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  el.addEventListener("keydown", (event) => event.stopPropagation()); // nor the notebook's own key handling
  const names = ["theta0", "theta1", "gamma", "n", "estimator", "baseline"], spec = model.get("spec");
  const state = Object.fromEntries(names.map((name) => [name, model.get(name)]));
  const point = await points(spec, model.get("numbers"));
  // A move is drawn at once from the numbers in the browser; the kernel hears of it after the paint.
  const draw = build(el, spec, state, (name, value) => {
    state[name] = value;
    draw(state, point(state));
    model.set(name, value);
    requestAnimationFrame(() => setTimeout(() => model.save_changes()));
  });
  draw(state, point(state));
  const listeners = names.map((name) => [`change:${name}`, () => { // a position set from Python
    if (model.get(name) === state[name]) return; // the view's own move, already drawn
    state[name] = model.get(name);
    draw(state, point(state));
  }]);
  for (const [event, listener] of listeners) model.on(event, listener);
  return () => { for (const [event, listener] of listeners) model.off(event, listener); };
}
