/* CivicGrid dashboards: the leader dashboard and the command centre's big screen (大屏).
   Draws the figures the page embeds (#dashboard-config) with ECharts and Leaflet; every chart can
   be swapped for a table of the same numbers, and every number links to the cases behind it.
   The big screen fetches fresh figures every `refresh` seconds and keeps going through errors.
   No text lives here: the page hands over its words (config.texts), translated. */
(function () {
  "use strict";

  var root = document.querySelector(".dashboard");
  var holder = document.getElementById("dashboard-config");
  if (!root || !holder) { return; }
  var config = JSON.parse(holder.textContent);
  var T = config.texts;
  var screen = root.getAttribute("data-mode") === "screen";
  var canChart = typeof window.echarts !== "undefined";
  var canMap = typeof window.L !== "undefined";
  var charts = {};
  var map = null;
  var mapLayer = null;
  var mapFitted = false;
  var timer = null;

  /* --- small helpers ------------------------------------------------------------------------- */
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") { node.textContent = props[key]; } else { node.setAttribute(key, props[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(2) + "%";
  }

  function plain(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  function signed(number, text) {
    return (number > 0 ? "+" : number < 0 ? "−" : "±") + text;
  }

  function linked(text, url) {
    return url ? el("a", { href: url, text: text }) : document.createTextNode(text);
  }

  function panel(part) { return root.querySelector('[data-part="' + part + '"]'); }

  function title(part) {
    var heading = panel(part).querySelector("h2");
    return heading ? heading.textContent : "";
  }

  /* --- tables: the same numbers as the charts, each row linking to its cases --------------- */
  function table(caption, columns, rows) {
    var head = el("tr", {}, columns.map(function (c, i) {
      return el("th", i === 0 ? { scope: "col", text: c.label } : { scope: "col", class: "num", text: c.label });
    }));
    var body = el("tbody", {}, rows.map(function (row) {
      return el("tr", {}, columns.map(function (c, i) {
        var text = c.format ? c.format(row[c.key]) : plain(row[c.key]);
        var cell = el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : { class: "num" });
        cell.appendChild(i === 0 ? linked(text, row.url) : document.createTextNode(text));
        return cell;
      }));
    }));
    var title = el("caption", { text: caption.text });
    if (caption.same) { title.setAttribute("class", "same"); }
    return el("table", { class: "grid" }, [title, el("thead", {}, [head]), body]);
  }

  function numbers(part, columns, rows) {
    var box = panel(part).querySelector(".numbers");
    box.textContent = "";
    box.appendChild(rows.length
      ? el("div", { class: "scroll" }, [table({ text: title(part), same: true }, columns, rows)])
      : el("p", { class: "muted", text: T.no_data }));
  }

  function note(part, text) {
    var node = panel(part).querySelector(".panel-note");
    node.textContent = text || "";
    node.hidden = !text;
  }

  /* --- charts ---------------------------------------------------------------------------------- */
  function chart(part) {
    if (!charts[part]) {
      var node = panel(part).querySelector(".chart");
      charts[part] = window.echarts.init(node, screen ? "dark" : null, { locale: "ZH" });
      charts[part].on("click", function (event) {
        if (event.data && event.data.url) { window.location.href = event.data.url; }
      });
    }
    return charts[part];
  }

  function base() {
    return {
      backgroundColor: "transparent",
      textStyle: { fontSize: screen ? 16 : 12 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" }
    };
  }

  function drawTrend(rows) {
    var option = base();
    option.legend = { top: 0, right: 0, data: [T.accepted, T.resolved] };
    option.xAxis = { type: "category", data: rows.map(function (r) { return r.label.slice(5); }) };
    option.yAxis = { type: "value", minInterval: 1 };
    option.series = [["accepted", T.accepted], ["resolved", T.resolved]].map(function (s) {
      return {
        name: s[1], type: "line", smooth: true, symbolSize: 6,
        data: rows.map(function (r) { return { value: r[s[0]], url: r.url }; })
      };
    });
    if (canChart) { chart("trend").setOption(option, true); }
    numbers("trend", [
      { key: "label", label: T.day },
      { key: "accepted", label: T.accepted },
      { key: "resolved", label: T.resolved }
    ], rows);
  }

  function drawDomains(rows) {
    var option = base();
    if (screen) {
      option.tooltip = { trigger: "item" };
      option.series = [{
        type: "pie", radius: ["35%", "70%"], label: { formatter: "{b} {c}" },
        data: rows.map(function (r) { return { name: r.label, value: r.accepted, url: r.url }; })
      }];
    } else {
      option.tooltip = { trigger: "axis", axisPointer: { type: "shadow" } };
      option.xAxis = { type: "value", minInterval: 1 };
      option.yAxis = { type: "category", inverse: true, data: rows.map(function (r) { return r.label; }) };
      option.series = [{
        type: "bar", name: T.accepted, barMaxWidth: 28, label: { show: true, position: "right" },
        data: rows.map(function (r) { return { value: r.accepted, url: r.url }; })
      }];
    }
    if (canChart) { chart("domains").setOption(option, true); }
    numbers("domains", [{ key: "label", label: T.domain }, { key: "accepted", label: T.accepted }], rows);
  }

  /* --- the map: circles at the units' coordinates, sized by cases, on tiles or a blank ground */
  function mapTip(p) {
    return el("span", {}, [
      el("strong", { text: p.label }),
      el("br"),
      document.createTextNode(T.accepted + " " + p.accepted + " · " + T.overdue + " " + p.overdue)
    ]);
  }

  function ensureMap() {
    var node = panel("map").querySelector(".chart");
    var tiles = config.tiles.url;
    map = window.L.map(node, { attributionControl: Boolean(tiles), zoomSnap: 0.25 });
    if (tiles) {
      window.L.tileLayer(tiles, { attribution: config.tiles.attribution, maxZoom: 18 }).addTo(map);
    } else {
      node.classList.add("blank");
    }
    mapLayer = window.L.layerGroup().addTo(map);
  }

  function drawMap(m) {
    var points = m.points;
    if (canMap) {
      if (!map) { ensureMap(); }
      mapLayer.clearLayers();
      var most = Math.max.apply(null, [1].concat(points.map(function (p) { return p.accepted; })));
      points.forEach(function (p) {
        var circle = window.L.circleMarker([p.lat, p.lon], {
          radius: (screen ? 7 : 5) + 20 * Math.sqrt(p.accepted / most),
          color: p.overdue ? "#e53935" : screen ? "#42a5f5" : "#1565c0", weight: 1, fillOpacity: 0.45,
          className: "map-point" + (p.url ? " linked" : "")
        });
        circle.bindTooltip(mapTip(p));
        if (p.url) { circle.on("click", function () { window.location.href = p.url; }); }
        mapLayer.addLayer(circle);
      });
      if (points.length && !mapFitted) {
        var bounds = window.L.latLngBounds(points.map(function (p) { return [p.lat, p.lon]; }));
        map.fitBounds(bounds.pad(0.15), { maxZoom: 15 });
        mapFitted = true;
      } else if (!points.length && !mapFitted) {
        map.setView([35, 105], 4);
      }
    }
    note("map", m.unplaced ? T.unplaced.replace("%(count)s", m.unplaced) : "");
    numbers("map", [
      { key: "label", label: m.level_label },
      { key: "accepted", label: T.accepted },
      { key: "overdue", label: T.overdue }
    ], points);
  }

  /* --- tiles and lists ------------------------------------------------------------------------ */
  function drawKpis(kpis) {
    var box = panel("kpis");
    box.textContent = "";
    kpis.forEach(function (k) {
      var format = k.kind === "rate" ? percent : plain;
      var change = "";
      if (k.change !== null) {
        change = k.kind === "rate"
          ? signed(k.change, Math.abs(k.change * 100).toFixed(2) + " " + T.points)
          : signed(k.change, String(Math.abs(k.change)));
      }
      var value = el("div", { class: "kpi-value" }, [linked(format(k.value), k.url)]);
      if (k.kind === "rate" && k.denominator) { value.setAttribute("title", k.numerator + " / " + k.denominator); }
      var trend = k.change > 0 ? "up" : k.change < 0 ? "down" : "flat";
      box.appendChild(el("div", { class: "kpi kpi-" + k.key }, [
        el("div", { class: "kpi-label", text: k.label }),
        value,
        el("div", { class: "kpi-previous " + trend, text: T.previous + " " + format(k.previous) + (change ? " · " + T.change + " " + change : "") })
      ]));
    });
  }

  function rateLabels(kpis) {
    var labels = {};
    kpis.forEach(function (k) { labels[k.key] = k.label; });
    return labels;
  }

  function drawUnits(rows, kpis) {
    var labels = rateLabels(kpis);
    var columns = [{ key: "label", label: T.unit }, { key: "accepted", label: T.accepted }];
    ["response_rate", "closure_rate", "on_time_rate", "satisfaction"].forEach(function (key) {
      columns.push({ key: key, label: labels[key], format: percent });
    });
    columns.push({ key: "overdue", label: T.overdue });
    numbers("units", columns, screen ? rows.slice(0, 10) : rows);
  }

  function drawCounts(counts) {
    numbers("counts", [{ key: "label", label: T.metric }, { key: "value", label: T.count }], [
      { label: T.overdue, value: counts.overdue.value, url: counts.overdue.url },
      { label: T.supervised_open, value: counts.supervised_open.value, url: counts.supervised_open.url }
    ]);
  }

  function drawHotspots(spots) {
    var box = panel("hotspots").querySelector(".numbers");
    var columns = function (label) {
      return [{ key: "label", label: label }, { key: "count", label: T.count }, { key: "share", label: T.share, format: percent }];
    };
    box.textContent = "";
    [[spots.places, T.unit], [spots.items, T.item]].forEach(function (part) {
      box.appendChild(part[0].length
        ? el("div", { class: "scroll" }, [table({ text: part[1] }, columns(part[1]), part[0])])
        : el("p", { class: "muted", text: part[1] + "：" + T.no_data }));
    });
  }

  function drawAlerts(alerts) {
    var rows = alerts.map(function (a) {
      return { label: a.place_name + " · " + a.item_name, observed: a.observed, expected: a.expected, ratio: a.ratio, url: a.url };
    });
    numbers("alerts", [
      { key: "label", label: T.alert },
      { key: "observed", label: T.observed },
      { key: "expected", label: T.expected },
      { key: "ratio", label: T.ratio }
    ], rows);
  }

  function draw(data) {
    drawKpis(data.kpis);
    drawTrend(data.trend);
    drawDomains(data.domains);
    drawMap(data.map);
    drawUnits(data.units, data.kpis);
    if (panel("counts")) { drawCounts(data.counts); }
    drawHotspots(data.hotspots);
    drawAlerts(data.alerts);
  }

  /* --- the 表格 toggles ------------------------------------------------------------------------ */
  function resize(part) {
    if (charts[part]) { charts[part].resize(); }
    if (part === "map" && map) { map.invalidateSize(); }
  }

  function showTable(section, on) {
    var button = section.querySelector(".table-toggle");
    if (button) { button.setAttribute("aria-pressed", on ? "true" : "false"); }
    section.querySelector(".numbers").hidden = !on;
    var drawing = section.querySelector(".chart");
    if (drawing) { drawing.hidden = on; }
    if (!on) { resize(section.getAttribute("data-part")); }
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest(".table-toggle");
    if (button) { showTable(button.closest(".panel"), button.getAttribute("aria-pressed") !== "true"); }
  });

  /* --- status, clock and refresh (big screen) ----------------------------------------------- */
  function status(text, failed) {
    var node = root.querySelector("[role=status]");
    if (!node) { return; }
    node.textContent = text;
    node.classList.toggle("failed", Boolean(failed));
  }

  function updated(data) { status(T.updated + " " + data.updated.slice(11, 19), false); }

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(refresh, seconds * 1000);
  }

  function refresh() {
    var controller = new AbortController();
    var guard = setTimeout(function () { controller.abort(); }, 30000);
    fetch(config.source, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller.signal })
      .then(function (response) {
        if (response.status === 401) { throw new Error("expired"); }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        draw(data);
        updated(data);
        schedule(config.refresh);
      })
      .catch(function (error) {
        status(error && error.message === "expired" ? T.expired : T.failed, true);
        // Sooner than a full period, so a short outage costs the wall little.
        schedule(Math.min(config.refresh, 15));
      })
      .then(function () { clearTimeout(guard); });
  }

  function tick(clock) {
    var now = new Date();
    clock.textContent = now.toLocaleString("zh-CN", { hour12: false });
    clock.setAttribute("datetime", now.toISOString());
  }

  /* --- start ------------------------------------------------------------------------------------ */
  var picker = root.querySelector("[data-period]");
  function syncCustom() {
    Array.prototype.forEach.call(root.querySelectorAll("[data-custom]"), function (node) {
      node.hidden = picker.value !== "custom";
    });
  }
  if (picker) { picker.addEventListener("change", syncCustom); syncCustom(); }

  if (!canChart || !canMap) {
    // Without the drawing libraries the tables are the page (make install copies them).
    Array.prototype.forEach.call(root.querySelectorAll(".panel"), function (section) {
      var part = section.getAttribute("data-part");
      if ((part === "map" && !canMap) || (part !== "map" && !canChart && section.querySelector(".chart"))) {
        showTable(section, true);
        section.querySelector(".table-toggle").hidden = true;
      }
    });
  }
  draw(config.data);
  updated(config.data);
  window.addEventListener("resize", function () { Object.keys(charts).forEach(resize); resize("map"); });
  var clock = root.querySelector(".screen-clock");
  if (clock) { tick(clock); setInterval(function () { tick(clock); }, 1000); }
  if (config.refresh > 0) { schedule(config.refresh); }
}());
