// The ☰ (chapter list) and page-contents buttons, working on every width.
//
// sphinx-book-theme 1.3.0 puts its own ☰ button in the article header, and pydata-sphinx-theme 0.17.1 (which it
// requires) has a second, hidden one in its navbar. Both themes bind their handlers to the first `.primary-toggle`
// in the document, the hidden one, so the visible buttons did nothing (pydata-sphinx-theme issue 2451). This one
// listener, on the document and ahead of the buttons' own, handles every toggle:
// - at 992 px and wider, ☰ collapses or restores the chapter list in place (the book theme's CSS for
//   `.pst-sidebar-hidden`);
// - narrower, ☰ and the page-contents button open their sidebar as a drawer: the theme's <dialog>, which the
//   theme itself closes (Escape, a click outside, a link) and empties back into the sidebar.
// No newer theme fixes this within jupyter-book 1's Sphinx 7 (sphinx-book-theme 1.4 needs Sphinx 8.2).
document.addEventListener(
  "click",
  (event) => {
    const button = event.target.closest(".primary-toggle, .secondary-toggle");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    button.blur();
    const which = button.classList.contains("primary-toggle") ? "primary" : "secondary";
    const sidebar = document.getElementById(`pst-${which}-sidebar`);
    const drawer = document.getElementById(`pst-${which}-sidebar-modal`);
    if (!sidebar) return;
    if (which === "primary" && window.matchMedia("(min-width: 992px)").matches) {
      const hidden = sidebar.classList.toggle("pst-sidebar-hidden");
      button.setAttribute("aria-expanded", String(!hidden));
      return;
    }
    if (!drawer || drawer.open) return;
    // What the theme does on opening: move the sidebar's content and classes into the dialog (its "close"
    // handler moves them back).
    Array.from(sidebar.childNodes).forEach((node) => drawer.appendChild(node));
    Array.from(sidebar.classList).forEach((name) => {
      sidebar.classList.remove(name);
      drawer.classList.add(name);
    });
    drawer.showModal();
    drawer.addEventListener("close", () => button.focus(), { once: true });
  },
  true,
);
