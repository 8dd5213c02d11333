(captions) =>
  // Each caption's text without its typeset math.
  captions.map((caption) => {
    const copy = caption.cloneNode(true);
    copy.querySelectorAll("mjx-container, script").forEach((math) => math.remove());
    return copy.textContent;
  })
