// Search page keyboard shortcuts and tidy htmx requests. Everything works without it.
//   /            focus the search box
//   j / k        next / previous clip in the results (the arrow keys too, once a clip has focus)
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function clipLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#search-results a.clip-link"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/" && !typing(event.target)) {
      var box = document.getElementById("id_q");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
      return;
    }
    var next = event.key === "j" || event.key === "ArrowDown";
    var previous = event.key === "k" || event.key === "ArrowUp";
    if (!next && !previous) return;
    if (typing(event.target)) return;
    var links = clipLinks();
    if (!links.length) return;
    var index = links.indexOf(document.activeElement);
    // Arrow keys move between clips only once one has focus; elsewhere they scroll as usual.
    if (index === -1 && (!next || event.key === "ArrowDown")) return;
    var target = links[Math.max(0, Math.min(links.length - 1, index + (next ? 1 : -1)))];
    event.preventDefault();
    target.focus();
    target.scrollIntoView({block: "nearest"});
  });

  // On a tablet or a narrow window, start with the filters folded so results show first.
  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("filters-panel");
    if (panel && window.matchMedia("(max-width: 900px)").matches) panel.removeAttribute("open");
  });

  // Leave empty filters out of the URL htmx requests and pushes into history.
  document.addEventListener("htmx:configRequest", function (event) {
    var params = event.detail.parameters;
    if (!params || event.detail.verb !== "get") return;
    Object.keys(params).forEach(function (name) {
      if (params[name] === "" || params[name] === null) delete params[name];
    });
  });
})();
