/* Exclusion zones drawn on a map in the case form (api/web/templates/_case_form.html).
   The textarea of zones ("latitude, longitude, radius in km", one per line) is the form's
   truth and works without the map (keyboard, screen reader); a click on the map adds a zone
   there with the radius given, and every zone typed is drawn as a red circle. */
(function () {
  "use strict";

  function parse(text) {
    return text.split(/[;\n]+/).map(function (line) {
      var bits = line.trim().split(/[,\s]+/).filter(Boolean).map(Number);
      return bits.length === 3 && bits.every(isFinite) ? bits : null;
    }).filter(Boolean);
  }

  function baseLayer(map) {
    fetch("/web/static/basemap/us-states.json").then(function (r) { return r.json(); })
      .then(function (geo) {
        L.geoJSON(geo, { interactive: false, style: function () {
          return { color: "#8c959d", weight: 1, fillColor: "#eef1f3", fillOpacity: 1 };
        } }).addTo(map).bringToBack();
      }).catch(function () { /* the zones still show */ });
  }

  function setUp(holder) {
    var area = document.getElementById(holder.getAttribute("data-zones"));
    var radius = document.getElementById(holder.getAttribute("data-radius"));
    if (!area || typeof L === "undefined") { return; }
    var map = L.map(holder, { attributionControl: true, keyboard: false });
    map.attributionControl.addAttribution("US Census Bureau");
    baseLayer(map);
    L.control.scale({ imperial: true, metric: true }).addTo(map);
    var layer = L.layerGroup().addTo(map);
    function draw(fit) {
      layer.clearLayers();
      var zones = parse(area.value);
      var bounds = [];
      zones.forEach(function (z) {
        var circle = L.circle([z[0], z[1]], { radius: z[2] * 1000, color: "#b3261e",
                                              weight: 2, fillOpacity: 0.15 }).addTo(layer);
        bounds.push(circle.getBounds());
      });
      if (fit && bounds.length) {
        var all = bounds[0];
        bounds.slice(1).forEach(function (b) { all.extend(b); });
        map.fitBounds(all, { padding: [20, 20], maxZoom: 9 });
      }
    }
    map.setView([39.5, -98.35], 4);
    draw(true);
    area.addEventListener("input", function () { draw(false); });
    map.on("click", function (event) {
      var km = Number(radius && radius.value) || 25;
      var line = event.latlng.lat.toFixed(4) + ", " + event.latlng.lng.toFixed(4) + ", " + km;
      area.value = area.value.replace(/\s+$/, "") + (area.value.trim() ? "\n" : "") + line;
      draw(false);
    });
    // A map inside a closed <details> has no size until it opens.
    var details = holder.closest("details");
    if (details) {
      details.addEventListener("toggle", function () { map.invalidateSize(); draw(true); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".zone-map").forEach(setUp);
  });
})();
