/* The travel page's picker of places to avoid: a click on the map adds "lat, lon, radius" to
   the text box (the keyboard's way in, and what the form posts); the circles follow the box.
   No inline script (CSP); Leaflet and the offline base layer as on the other maps. */
(function () {
  "use strict";
  function parse(text) {
    return text.split(/[\n;]+/).map(function (line) {
      var parts = line.split(",").map(function (p) { return parseFloat(p); });
      return parts.length === 3 && parts.every(function (n) { return isFinite(n); })
        ? parts : null;
    }).filter(function (p) { return p !== null; });
  }
  function start() {
    var holder = document.getElementById("avoid-map");
    if (!holder || typeof L === "undefined") { return; }
    var box = document.getElementById(holder.getAttribute("data-points-field"));
    var radius = document.getElementById(holder.getAttribute("data-radius-field"));
    var count = document.getElementById("avoid-count");
    var map = L.map(holder, { attributionControl: true }).setView([39.5, -98.35], 4);
    var tiles = holder.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
    } else {
      map.attributionControl.addAttribution("US Census Bureau; GeoNames (CC BY 4.0)");
      if (window.homewardBaseLayer) { window.homewardBaseLayer(map); }
    }
    L.control.scale({ imperial: true, metric: true }).addTo(map);
    var drawn = L.layerGroup().addTo(map);
    function redraw() {
      drawn.clearLayers();
      var points = parse(box.value);
      points.forEach(function (p) {
        L.circle([p[0], p[1]], { radius: p[2] * 1000, color: "#a4001d", weight: 2,
                                 fillOpacity: 0.15 }).addTo(drawn);
      });
      if (count) {
        count.textContent = (count.getAttribute("data-template") || "{n}")
          .replace("{n}", String(points.length));
      }
    }
    map.on("click", function (event) {
      var km = parseFloat(radius.value) || 25;
      var line = event.latlng.lat.toFixed(4) + ", " + event.latlng.lng.toFixed(4) + ", " + km;
      box.value = box.value.replace(/\s+$/, "") + (box.value.trim() ? "\n" : "") + line;
      redraw();
    });
    box.addEventListener("input", redraw);
    redraw();
    var first = parse(box.value)[0];
    if (first) { map.setView([first[0], first[1]], 7); }
  }
  document.addEventListener("DOMContentLoaded", start);
})();
