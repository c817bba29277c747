/* passmint admin: the few behaviours pages need, kept out of the markup (the CSP allows no
   inline script). Everything works without it except live preview and drag-and-drop. */
(function () {
  "use strict";

  // Colours and images a design picks: applied through the CSS object model, which the
  // Content-Security-Policy allows (inline style attributes it does not).
  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(selector) : []);
    if (root.matches && root.matches(selector)) { found.unshift(root); }
    return found;
  }

  function paint(root) {
    within(root, "[data-paint]").forEach(function (el) {
      var values;
      try { values = JSON.parse(el.getAttribute("data-paint")); } catch (e) { return; }
      Object.keys(values).forEach(function (name) {
        var value = values[name];
        if (name === "background-image") {
          el.style.backgroundImage = value ? 'url("' + String(value).replace(/"/g, "") + '")' : "";
        } else if (/^--[a-z-]+$/.test(name) && /^(#[0-9a-fA-F]{3,8}|rgba?\([0-9., %]+\))$/.test(value)) {
          el.style.setProperty(name, value);
        }
      });
    });
  }

  function changed(el) {
    var form = el.closest("form");
    if (form) { form.dispatchEvent(new Event("change", { bubbles: true })); }
  }

  // A row's controls are named by their position (fields.primary.2.label): after a move,
  // an add or a removal, each gets its new name, and its id, label, error and description
  // follow (ids are "f-" + the name, as the server writes them).
  function renumber(list) {
    Array.prototype.forEach.call(list.children, function (row, index) {
      row.querySelectorAll("[data-index-name]").forEach(function (input) {
        var name = input.getAttribute("data-index-name").replace("#", String(index));
        var id = "f-" + name.replace(/[^A-Za-z0-9_-]/g, "-");
        var label = input.id ? row.querySelector('label[for="' + input.id + '"]') : null;
        var error = input.id ? document.getElementById(input.id + "-error") : null;
        input.name = name;
        input.id = id;
        if (label) { label.htmlFor = id; }
        if (error) { error.id = id + "-error"; error.setAttribute("data-error-for", name); }
        input.setAttribute("aria-describedby", id + "-error");
      });
    });
  }

  function sortable(root) {
    if (typeof window.Sortable === "undefined") { return; }
    within(root, "[data-sortable]").forEach(function (list) {
      if (list.dataset.sortableReady) { return; }
      list.dataset.sortableReady = "1";
      window.Sortable.create(list, {
        handle: ".handle",
        animation: 120,
        onEnd: function () { renumber(list); changed(list); }
      });
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button, a");
    if (!target) { return; }
    var row;
    if (target.hasAttribute("data-move")) {
      event.preventDefault();
      row = target.closest("[data-row]");
      var list = row.parentElement;
      if (target.getAttribute("data-move") === "up" && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
      } else if (target.getAttribute("data-move") === "down" && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
      }
      renumber(list);
      target.focus();
      changed(list);
    } else if (target.hasAttribute("data-remove-row")) {
      event.preventDefault();
      row = target.closest("[data-row]");
      var parent = row.parentElement;
      row.remove();
      renumber(parent);
      changed(parent);
    } else if (target.hasAttribute("data-add-row")) {
      event.preventDefault();
      var listId = target.getAttribute("data-add-row");
      var into = document.getElementById(listId);
      var template = document.getElementById(listId + "-template");
      if (!into || !template) { return; }
      var max = parseInt(into.getAttribute("data-max") || "0", 10);
      if (max && into.children.length >= max) { return; }
      into.appendChild(template.content.cloneNode(true));
      renumber(into);
      var first = into.lastElementChild && into.lastElementChild.querySelector("input, select, textarea");
      if (first) { first.focus(); }
      changed(into);
    } else if (target.hasAttribute("data-copy")) {
      event.preventDefault();
      var text = target.getAttribute("data-copy");
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          target.setAttribute("data-copied", "1");
          var status = document.getElementById(target.getAttribute("aria-describedby") || "");
          if (status) { status.textContent = target.getAttribute("data-copied-text") || ""; }
        });
      }
    }
  });

  // A form that asks before it does something that cannot be undone.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // A colour picker and its text box show the same value.
  document.addEventListener("input", function (event) {
    var el = event.target;
    var twin = el.getAttribute("data-twin");
    if (twin) {
      var other = document.getElementById(twin);
      if (other && other.value !== el.value) { other.value = el.value; }
    }
  });

  // A request HTMX could not show: say so in the page's alert box.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("request-error");
    if (!box) { return; }
    var status = event.detail && event.detail.xhr ? String(event.detail.xhr.status) : "";
    box.textContent = box.getAttribute("data-" + status) || box.getAttribute("data-other");
    box.hidden = false;
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("request-error");
    if (box) { box.textContent = box.getAttribute("data-other"); box.hidden = false; }
  });

  function ready(root) { paint(root); sortable(root); }
  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:load", function (event) { ready(event.target); });
})();
