/* The report form one step at a time, with previews of the chosen photos.
   Progressive enhancement only: without this file the three steps are one long form that still posts. */
(function () {
  "use strict";
  var form = document.querySelector("[data-report-form]");
  if (!form) { return; }
  var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  var bar = document.querySelector("[data-steps]");
  var current = 0;

  function show(index) {
    current = Math.max(0, Math.min(index, steps.length - 1));
    steps.forEach(function (step, i) { step.hidden = i !== current; });
    if (bar) {
      Array.prototype.forEach.call(bar.children, function (dot, i) { dot.classList.toggle("on", i <= current); });
    }
  }

  function stepOf(element) {
    return steps.indexOf(element.closest("[data-step]"));
  }

  // Only the fields of the step in view are checked before moving on; the server checks all again.
  function stepIsValid(step) {
    var fields = step.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i += 1) {
      if (!fields[i].checkValidity()) { fields[i].reportValidity(); return false; }
    }
    return true;
  }

  function preview(input) {
    var box = form.querySelector('[data-previews="' + input.id + '"]');
    if (!box) { return; }
    box.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (!/^image\//.test(file.type)) { return; }
      var img = document.createElement("img");
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      img.onload = function () { URL.revokeObjectURL(img.src); };
      box.appendChild(img);
    });
  }

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-next]") && stepIsValid(steps[current])) { show(current + 1); window.scrollTo(0, 0); }
    if (target.closest("[data-prev]")) { show(current - 1); window.scrollTo(0, 0); }
  });
  // A field the browser refuses on submit may sit in a hidden step: bring that step into view.
  form.addEventListener("invalid", function (event) {
    var index = stepOf(event.target);
    if (index >= 0 && index !== current) { show(index); }
  }, true);
  form.addEventListener("change", function (event) {
    if (event.target.type === "file") { preview(event.target); }
  });
  // One tap, one report: a slow upload must not be sent twice; coming back to the page re-enables it.
  var submit = form.querySelector("button[type=submit]");
  form.addEventListener("submit", function () { if (submit) { submit.disabled = true; } });
  window.addEventListener("pageshow", function () { if (submit) { submit.disabled = false; } });

  Array.prototype.forEach.call(form.querySelectorAll("[data-step-nav]"), function (nav) { nav.hidden = false; });
  if (bar) { bar.hidden = false; }
  var firstError = form.querySelector(".errorlist");
  show(firstError ? stepOf(firstError) : 0);
}());
