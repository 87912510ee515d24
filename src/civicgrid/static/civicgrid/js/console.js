/* CivicGrid staff console: unit-picker search, hotline type-ahead and caller history, keyboard
   shortcuts. Everything here is an enhancement: every page works (more slowly) without it. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  /* Unit pickers: a search box above each grouped <select> hides the options that do not match. */
  function filterOptions(select, query) {
    var words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
    Array.prototype.forEach.call(select.querySelectorAll("option"), function (option) {
      var text = option.textContent.toLowerCase();
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      option.setAttribute("data-match", match && option.value ? "yes" : "no");
      // A chosen assisting unit stays in sight (and chosen) while the operator looks for another.
      option.hidden = !(match || !option.value || (select.multiple && option.selected));
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  }

  function firstMatch(select) {
    return select.querySelector("option[data-match=yes]");
  }

  function enhancePicker(select) {
    var search = document.createElement("input");
    search.type = "search";
    search.className = "unit-search";
    search.placeholder = select.getAttribute("data-search-placeholder") || "";
    search.setAttribute("aria-label", search.placeholder);
    search.setAttribute("aria-controls", select.id);
    select.parentNode.insertBefore(search, select);
    search.addEventListener("input", function () { filterOptions(select, search.value); });
    search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault(); // Enter picks the first match instead of submitting half a form.
      var option = firstMatch(select);
      if (option) {
        option.selected = true;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        if (!select.multiple) { select.focus(); }
      }
    });
  }

  /* Hotline entry. */
  function loadHistory(form, phoneInput) {
    var box = document.getElementById("caller-history");
    var url = form.getAttribute("data-history-url") + "?phone=" + encodeURIComponent(phoneInput.value);
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () { /* the "查询来电记录" button still works */ });
  }

  function loadBuildings(form, input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = form.getAttribute("data-buildings-url") + "?q=" + encodeURIComponent(input.value);
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        list.textContent = "";
        data.buildings.forEach(function (entry) {
          var option = document.createElement("option");
          option.value = entry.value;
          option.textContent = entry.label;
          list.appendChild(option);
        });
      })
      .catch(function () {});
  }

  function prefillLead(form, itemInput) {
    // Department items name their default handler; the operator may still pick another unit.
    var lead = form.querySelector("[name=lead]");
    var list = document.getElementById(itemInput.getAttribute("list"));
    if (!lead || !list || (lead.value && lead.getAttribute("data-prefilled") !== "yes")) { return; }
    var chosen = Array.prototype.find.call(list.options, function (o) { return o.value === itemInput.value; });
    var code = chosen ? chosen.getAttribute("data-handler") : "";
    if (code && lead.querySelector("option[value='" + code.replace(/'/g, "") + "']")) {
      lead.value = code;
      lead.setAttribute("data-prefilled", "yes");
    }
  }

  function enhanceHotline(form) {
    var phone = form.querySelector("[name=phone]");
    var kind = form.querySelector("[name=kind]");
    var building = form.querySelector("[name=building]");
    var item = form.querySelector("[name=item]");
    var lookup = form.querySelector("button[name=lookup]");
    var refresh = debounce(function () { loadHistory(form, phone); }, 300);
    phone.addEventListener("input", function () {
      if (phone.value.replace(/\D/g, "").length >= 7) { refresh(); }
    });
    phone.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault(); // the caller's phone first: Enter shows the history and moves on
      loadHistory(form, phone);
      kind.focus();
    });
    lookup.addEventListener("click", function (event) {
      event.preventDefault();
      loadHistory(form, phone);
    });
    building.addEventListener("input", debounce(function () {
      if (building.value.trim()) { loadBuildings(form, building); }
    }, 200));
    item.addEventListener("change", function () { prefillLead(form, item); });
    form.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) { return; }
      event.preventDefault();
      var then = event.shiftKey ? "dispatch" : "create";
      form.querySelector(".buttons button[value=" + then + "]").click();
    });
  }

  /* Shortcuts: "/" jumps to the search box; opening an action puts the cursor in its first field. */
  function enhanceShortcuts() {
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) { return; }
      var search = document.querySelector("[data-shortcut='/']");
      if (search) {
        event.preventDefault();
        search.focus();
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".actions details"), function (details) {
      details.addEventListener("toggle", function () {
        var field = details.open && details.querySelector("input:not([type=hidden]), select, textarea");
        if (field) { field.focus(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select.unit-picker"), enhancePicker);
    var hotline = document.getElementById("hotline-form");
    if (hotline) { enhanceHotline(hotline); }
    enhanceShortcuts();
  });
})();
