/* 随手拍 form helpers: the phone's position into the hidden lat/lon, and the on-the-spot fields shown
 * only when "小事一格解决" is ticked. Without this script the position is simply not sent and the
 * on-the-spot fields stay visible (they are optional). */
(function () {
  "use strict";

  var form = document.querySelector("form[data-snap-form]");
  if (!form) return;

  /* ---- on the spot -------------------------------------------------------------------------- */
  var tick = form.elements.on_the_spot;
  var extra = form.querySelector("[data-on-the-spot]");
  function reveal() { if (tick && extra) extra.hidden = !tick.checked; }
  if (tick && extra) {
    tick.addEventListener("change", reveal);
    reveal();
  }

  /* ---- position ----------------------------------------------------------------------------- */
  var lat = form.elements.lat;
  var lon = form.elements.lon;
  var status = form.querySelector("[data-locate-status]");
  var again = form.querySelector("[data-locate]");

  function t(key, values) {
    var text = (status && status.getAttribute("data-t-" + key)) || "";
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }
  function show(text) { if (status) status.textContent = text; }

  function locate() {
    if (!lat || !lon) return;
    if (!navigator.geolocation) { show(t("unsupported")); return; }
    show(t("locating"));
    navigator.geolocation.getCurrentPosition(function (where) {
      lat.value = where.coords.latitude.toFixed(6);
      lon.value = where.coords.longitude.toFixed(6);
      show(t("located", { metres: Math.round(where.coords.accuracy || 0) }));
    }, function () {
      lat.value = "";
      lon.value = "";
      show(t("failed"));
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  if (again) {
    again.hidden = false;
    again.addEventListener("click", locate);
  }
  // After a draft is saved the form starts afresh for the next report: locate again, show defaults.
  form.addEventListener("reset", function () { setTimeout(function () { reveal(); locate(); }, 0); });
  if (lat && !lat.value) locate();
})();
