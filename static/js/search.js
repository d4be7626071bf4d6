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

  // Selection: "Tick this page" ticks every row; "Select all N matches" means the whole search
  // (the server resolves it), so the rows show ticked and are not sent one by one.
  function picks() {
    return Array.prototype.slice.call(document.querySelectorAll("#search-results input.pick"));
  }

  function showSelection() {
    var all = document.getElementById("select-all");
    var count = document.getElementById("selection-count");
    var boxes = picks();
    boxes.forEach(function (box) { box.disabled = !!(all && all.checked); if (all && all.checked) box.checked = true; });
    var page = document.getElementById("select-page");
    if (page) page.checked = boxes.length > 0 && boxes.every(function (box) { return box.checked; });
    if (!count) return;
    if (all && all.checked) { count.textContent = "Every match is selected"; return; }
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    count.textContent = ticked ? ticked + " ticked" : "Tick clips, or select all matches";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || !target.closest || !target.closest("#search-results")) return;
    if (target.id === "select-page") {
      picks().forEach(function (box) { box.checked = target.checked; });
    } else if (target.id === "select-all" && !target.checked) {
      picks().forEach(function (box) { box.checked = false; });
    }
    if (target.id === "select-page" || target.id === "select-all" || target.classList.contains("pick")) {
      showSelection();
    }
  });
  document.addEventListener("DOMContentLoaded", showSelection);
  document.addEventListener("htmx:afterSettle", showSelection);
})();
