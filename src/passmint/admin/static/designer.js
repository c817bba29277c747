/* The designer: puts each problem of the live preview next to the control it comes from,
   and clears an image slot. (Preview requests themselves are declared with htmx.) */
(function () {
  "use strict";

  function place(root) {
    var box = root.querySelector ? root.querySelector("#problems") : null;
    if (!box && root.id === "problems") { box = root; }
    if (!box) { box = document.getElementById("problems"); }
    if (!box) { return; }
    var problems;
    try { problems = JSON.parse(box.getAttribute("data-problems") || "[]"); } catch (e) { return; }
    var byControl = {};
    problems.forEach(function (p) { (byControl[p.control] = byControl[p.control] || []).push(p.message); });
    document.querySelectorAll("[data-error-for]").forEach(function (el) {
      var messages = byControl[el.getAttribute("data-error-for")];
      var control = document.getElementsByName(el.getAttribute("data-error-for"))[0];
      if (messages) {
        el.textContent = messages.join(" ");
        el.hidden = false;
        if (control) { control.setAttribute("aria-invalid", "true"); }
      } else {
        el.textContent = "";
        el.hidden = true;
        if (control) { control.removeAttribute("aria-invalid"); }
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-clear-image]");
    if (!button) { return; }
    event.preventDefault();
    var input = document.getElementsByName(button.getAttribute("data-clear-image"))[0];
    if (input) { input.value = ""; input.dispatchEvent(new Event("change", { bubbles: true })); }
    var img = button.closest(".image-slot").querySelector("img");
    if (img) { img.remove(); }
    button.remove();
  });

  document.addEventListener("htmx:afterSwap", function (event) { place(event.target); });
  document.addEventListener("DOMContentLoaded", function () { place(document); });
})();
