/* Homeward pages: quick exit, print buttons, CSV file reading, the placement map.
   No inline scripts anywhere (the CSP forbids them); data for the map comes from a JSON
   <script type="application/json"> block. */
(function () {
  "use strict";
  var EXITED = "hw-exited";

  function quickExit(event) {
    if (event) { event.preventDefault(); }
    var body = document.body;
    var url = body.getAttribute("data-exit-url") || "https://www.weather.gov/";
    var token = body.getAttribute("data-csrf");
    try { sessionStorage.setItem(EXITED, "1"); } catch (e) { /* storage may be off */ }
    if (token && navigator.sendBeacon) {
      // End the session on the server, so Back or a reopened tab shows only the sign-in page.
      navigator.sendBeacon("/web/quick-exit", new URLSearchParams({ csrf_token: token }));
    }
    document.title = "";
    body.innerHTML = "";
    window.location.replace(url);
  }

  // A page restored from history after a quick exit is blanked and sent away again.
  window.addEventListener("pageshow", function () {
    var exited = false;
    try { exited = sessionStorage.getItem(EXITED) === "1"; } catch (e) { exited = false; }
    if (exited && !document.getElementById("sign-in")) { quickExit(null); }
  });

  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 800) { quickExit(event); }
    lastEscape = now;
  });

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    if (target.closest("#quick-exit")) { quickExit(event); return; }
    if (target.closest("[data-print]")) { event.preventDefault(); window.print(); }
  });

  document.addEventListener("submit", function (event) {
    if (event.target instanceof Element && event.target.id === "sign-in") {
      try { sessionStorage.removeItem(EXITED); } catch (e) { /* nothing to clear */ }
    }
  });

  // Read a chosen CSV file into the households text box, so it can be checked before running.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") { return; }
    var into = document.getElementById(input.getAttribute("data-into") || "");
    if (!into || !input.files || !input.files[0]) { return; }
    input.files[0].text().then(function (text) { into.value = text; });
  });

  // Without a tile server the map draws a bundled base layer (US states and the largest
  // cities: /web/static/basemap, public data), so it works with no network.
  function baseLayer(map) {
    var path = "/web/static/basemap/";
    fetch(path + "us-states.json").then(function (r) { return r.json(); }).then(function (geo) {
      L.geoJSON(geo, { interactive: false, style: function () {
        return { color: "#8c959d", weight: 1, fillColor: "#eef1f3", fillOpacity: 1 };
      } }).addTo(map).bringToBack();
    }).catch(function () { /* the markers still show */ });
    fetch(path + "us-cities.json").then(function (r) { return r.json(); }).then(function (cities) {
      cities.forEach(function (c) {
        L.circleMarker([c.lat, c.lon], { radius: 2, color: "#5b6770", interactive: false })
          .bindTooltip(c.name, { permanent: map.getZoom() >= 6, direction: "right",
                                 className: "city-label" }).addTo(map);
      });
    }).catch(function () {});
  }
  // Other pages' maps (the travel page's place picker) draw the same offline base layer.
  window.homewardBaseLayer = baseLayer;
  function legend(map, spec) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "map-legend");
      var rows = [["household", spec.households], ["shelter", spec.shelters],
                  ["safe-house", spec.cells], ["zone", spec.zones]];
      var labels = JSON.parse(document.getElementById("map-data").getAttribute("data-legend")
                              || "{}");
      rows.forEach(function (row) {
        if (!row[1] || !row[1].length) { return; }
        var line = L.DomUtil.create("div", "", box);
        L.DomUtil.create("span", "swatch " + row[0], line);
        line.appendChild(document.createTextNode(" " + (labels[row[0]] || row[0])));
      });
      return box;
    };
    control.addTo(map);
  }
  function drawMap() {
    var holder = document.getElementById("map");
    var data = document.getElementById("map-data");
    if (!holder || !data || typeof L === "undefined") { return; }
    var spec = JSON.parse(data.textContent || "{}");
    var map = L.map(holder, { attributionControl: true });
    if (spec.tiles) {
      L.tileLayer(spec.tiles, { maxZoom: 18, attribution: spec.attribution || "" }).addTo(map);
    } else {
      map.attributionControl.addAttribution("US Census Bureau; GeoNames (CC BY 4.0)");
      baseLayer(map);
    }
    L.control.scale({ imperial: true, metric: true }).addTo(map);
    var bounds = [];
    (spec.lines || []).forEach(function (line) {
      L.polyline(line, { color: "#5b6770", weight: 1, opacity: 0.7 }).addTo(map);
    });
    (spec.households || []).forEach(function (h) {
      L.circleMarker([h.lat, h.lon], { radius: 4, color: "#8a4b00", fillOpacity: 0.9 })
        .bindTooltip(h.label).addTo(map);
      bounds.push([h.lat, h.lon]);
    });
    (spec.shelters || []).forEach(function (s) {
      L.circleMarker([s.lat, s.lon], { radius: 8, color: "#0b5394", fillOpacity: 0.9 })
        .bindTooltip(s.label).addTo(map);
      bounds.push([s.lat, s.lon]);
    });
    // A safe house is only ever its public cell: a hatched square, no point, no line.
    (spec.cells || []).forEach(function (c) {
      L.rectangle([[c.south, c.west], [c.north, c.east]],
                  { color: "#6a1b9a", weight: 1, fillOpacity: 0.25, dashArray: "3" })
        .bindTooltip(c.label).addTo(map);
      bounds.push([c.south, c.west], [c.north, c.east]);
    });
    // Exclusion zones (a raid site, a trafficker's reach): red circles no one is placed in.
    (spec.zones || []).forEach(function (z) {
      L.circle([z.lat, z.lon], { radius: z.radius_m, color: "#b3261e", weight: 2,
                                 fillOpacity: 0.12, interactive: false }).addTo(map);
    });
    legend(map, spec);
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); }
    else { map.setView([39.5, -98.35], 4); }
  }
  // Timeline bars carry their place as data attributes (the CSP forbids inline styles).
  function placeBars() {
    document.querySelectorAll(".timeline .leg").forEach(function (bar) {
      bar.style.left = bar.getAttribute("data-left") + "%";
      bar.style.width = bar.getAttribute("data-width") + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawMap(); placeBars(); });
  document.addEventListener("htmx:afterSettle", placeBars);
})();
