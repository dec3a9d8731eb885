/* Exclusion zones picked on a map in the case form (api/web/templates/_case_form.html).
   The form's text fields are its truth and work without the map (keyboard, screen reader):
   zones ("latitude, longitude, radius in km", one per line), cities ("Houston, TX", one per
   line) and states ("TX, LA"). A click on the map adds, as the radio buttons say, a zone
   there with the radius given, the state clicked, or the city clicked (the base map's red
   dots); the searchable list beside it adds a state or city by name. Every zone typed is
   drawn as a red circle, every state listed is shaded, every city listed ringed. */
(function () {
  "use strict";

  function parse(text) {
    return text.split(/[;\n]+/).map(function (line) {
      var bits = line.trim().split(/[,\s]+/).filter(Boolean).map(Number);
      return bits.length === 3 && bits.every(isFinite) ? bits : null;
    }).filter(Boolean);
  }

  function statesOf(text) {
    return text.split(/[,;\s]+/).map(function (s) { return s.trim().toUpperCase(); })
      .filter(Boolean);
  }

  function citiesOf(text) {
    return text.split(/[;\n]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  // The searchable list (a <datalist>) names every place: state name -> code, and cities.
  function choices(list) {
    var found = { byLabel: {}, codeOfName: {} };
    if (!list) { return found; }
    Array.prototype.forEach.call(list.options, function (option) {
      var place = { kind: option.getAttribute("data-kind"),
                    value: option.getAttribute("data-value"), label: option.value };
      found.byLabel[option.value.toLowerCase()] = place;
      if (place.kind === "state") {
        found.codeOfName[option.value.replace(/\s*\([A-Z]{2}\)$/, "")] = place.value;
      }
    });
    return found;
  }

  function setUp(holder) {
    var area = document.getElementById(holder.getAttribute("data-zones"));
    var radius = document.getElementById(holder.getAttribute("data-radius"));
    var cities = document.getElementById(holder.getAttribute("data-cities"));
    var states = document.getElementById(holder.getAttribute("data-states"));
    var said = document.getElementById(holder.getAttribute("data-said"));
    var pickName = holder.getAttribute("data-pick");
    var search = document.querySelector('input[data-map="' + holder.id + '"]');
    var known = choices(search && search.list);
    if (!area) { return; }

    function announce(template, place) {
      if (said) { said.textContent = template.replace("{place}", place); }
    }

    function add(kind, value, label) {
      var field = kind === "state" ? states : cities;
      if (!field) { return; }
      var listed = kind === "state" ? statesOf(field.value) : citiesOf(field.value);
      if (listed.indexOf(value) >= 0) {
        announce(holder.getAttribute("data-present"), label);
        return;
      }
      if (kind === "state") {
        field.value = listed.concat([value]).join(", ");
      } else {
        field.value = field.value.replace(/\s+$/, "") + (field.value.trim() ? "\n" : "") + value;
      }
      field.dispatchEvent(new Event("input", { bubbles: true }));
      announce(holder.getAttribute("data-added"), label);
    }

    if (search) {
      var button = document.querySelector('button[data-place="' + search.id + '"]');
      var pickTyped = function () {
        var place = known.byLabel[search.value.trim().toLowerCase()];
        if (place) {
          add(place.kind, place.value, place.label);
          search.value = "";
        }
      };
      if (button) { button.addEventListener("click", pickTyped); }
      search.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); pickTyped(); }
      });
    }

    if (typeof L === "undefined") { return; }
    var map = L.map(holder, { attributionControl: true, keyboard: false });
    map.attributionControl.addAttribution("US Census Bureau; GeoNames (CC BY 4.0)");
    L.control.scale({ imperial: true, metric: true }).addTo(map);

    function mode() {
      var checked = document.querySelector(
        'input[name="map_pick"][id^="' + pickName + '-"]:checked');
      return checked ? checked.value : "zone";
    }

    function addZone(latlng) {
      var km = Number(radius && radius.value) || 25;
      var line = latlng.lat.toFixed(4) + ", " + latlng.lng.toFixed(4) + ", " + km;
      area.value = area.value.replace(/\s+$/, "") + (area.value.trim() ? "\n" : "") + line;
      draw(false);
    }

    var stateLayer = null;
    var cityLayer = L.layerGroup().addTo(map);
    function shade() {
      var picked = states ? statesOf(states.value) : [];
      if (stateLayer) {
        stateLayer.setStyle(function (feature) {
          var on = picked.indexOf(known.codeOfName[feature.properties.name]) >= 0;
          return { color: on ? "#b3261e" : "#8c959d", weight: on ? 2 : 1,
                   fillColor: on ? "#f3c7c3" : "#eef1f3", fillOpacity: 1 };
        });
      }
      var listed = cities ? citiesOf(cities.value) : [];
      cityLayer.eachLayer(function (dot) {
        var on = listed.indexOf(dot.options.place) >= 0;
        dot.setStyle({ weight: on ? 4 : 1, color: on ? "#1f1f1f" : "#b3261e" });
      });
    }

    fetch("/web/static/basemap/us-states.json").then(function (r) { return r.json(); })
      .then(function (geo) {
        stateLayer = L.geoJSON(geo, { bubblingMouseEvents: false,
                                      onEachFeature: function (feature, shape) {
          var code = known.codeOfName[feature.properties.name];
          // The shape names its state (for tests and tools); the list is the accessible way.
          shape.on("add", function () {
            if (code) { shape.getElement().setAttribute("data-state", code); }
          });
          shape.on("click", function (event) {
            if (mode() === "state" && code) {
              add("state", code, feature.properties.name + " (" + code + ")");
            } else if (mode() === "zone") {
              addZone(event.latlng);
            }
          });
        } }).addTo(map).bringToBack();
        shade();
        holder.setAttribute("data-ready", "states");
      }).catch(function () { /* the zones still show */ });

    fetch("/web/static/basemap/us-cities.json").then(function (r) { return r.json(); })
      .then(function (list) {
        list.forEach(function (city) {
          var place = city.name + ", " + city.state;
          var dot = L.circleMarker([city.lat, city.lon], {
            radius: 4, color: "#b3261e", weight: 1, fillColor: "#ffffff", fillOpacity: 1,
            bubblingMouseEvents: false, place: place });
          dot.bindTooltip(place);
          dot.on("click", function (event) {
            if (mode() === "city") { add("city", place, place); } else if (mode() === "zone") {
              addZone(event.latlng);
            } else if (stateLayer) {
              // In state mode a dot does not hide the state under it.
              var code = known.codeOfName[stateUnder(event.latlng)];
              if (code) { add("state", code, stateUnder(event.latlng) + " (" + code + ")"); }
            }
          });
          dot.addTo(cityLayer);
        });
        shade();
      }).catch(function () { /* the form still works */ });

    function stateUnder(latlng) {
      var name = null;
      stateLayer.eachLayer(function (shape) {
        if (!name && shape.getBounds().contains(latlng)) { name = shape.feature.properties.name; }
      });
      return name;
    }

    var layer = L.layerGroup().addTo(map);
    function draw(fit) {
      layer.clearLayers();
      var bounds = [];
      parse(area.value).forEach(function (z) {
        var circle = L.circle([z[0], z[1]], { radius: z[2] * 1000, color: "#b3261e",
                                              weight: 2, fillOpacity: 0.15,
                                              interactive: false }).addTo(layer);
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
    [cities, states].forEach(function (field) {
      if (field) { field.addEventListener("input", shade); }
    });
    map.on("click", function (event) { if (mode() === "zone") { addZone(event.latlng); } });
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
