/* Planners' map: layers driven by the form beside it, data from the JSON API (GeoJSON,
   WGS84). Every text shown comes from the data through textContent: a place named
   "<script>…" is displayed as text, never run. */
(function () {
  'use strict';
  var form = document.getElementById('couches');
  var container = document.getElementById('carte');
  if (!form || !container || !window.L || !window.Atlas) { return; }
  var el = Atlas.el;
  var urls = form.dataset;
  var status = document.getElementById('carte-statut');
  var panel = document.getElementById('infos-commune-contenu');
  var map = Atlas.createMap(container);
  var layers = { structures: null, access: null, isochrones: null, gaps: null, zoning: null, scenario: null };
  var timeColours = [0, 1, 2, 3, 4].map(function (i) { return Atlas.cssColour('time-' + i, '#888'); });
  var noneColour = Atlas.cssColour('time-none', '#d9d9d9');
  var typeColours = {};
  form.querySelectorAll('input[name="type"]').forEach(function (box) {
    typeColours[box.value] = Atlas.cssColour('type-' + (parseInt(box.dataset.typeIndex, 10) % 10), '#00507a');
  });
  document.querySelectorAll('[data-js-only]').forEach(function (node) { node.hidden = false; });

  function value(name) {
    var field = form.elements.namedItem(name);
    return field ? field.value : null;
  }
  function checked(id) {
    var box = document.getElementById(id);
    return Boolean(box && box.checked);
  }
  function say(text) { status.textContent = text; }
  function drop(name) {
    if (layers[name]) { map.removeLayer(layers[name]); layers[name] = null; }
  }
  function approxText(data) { return data.approximate ? ' (temps approximatifs)' : ''; }

  function lines(box, rows) {
    rows.forEach(function (row) { if (row) { box.appendChild(el('p', row)); } });
    return box;
  }

  /* ------------------------------------------------------------ background */
  Atlas.getJSON(urls.territoriesUrl).then(function (data) {
    var outline = L.geoJSON(data, { interactive: false, style: { color: '#4a4a4a', weight: 1.5, fill: false } });
    outline.addTo(map);
    outline.bringToBack();
    map.fitBounds(outline.getBounds(), { padding: [10, 10] });
  }).catch(function () { say('Contours des départements indisponibles.'); });

  /* ------------------------------------------------------------ places */
  function structurePopup(p) {
    var box = el('div');
    box.appendChild(el('h3', p.name));
    return lines(box, [
      p.partner_label,
      [p.address, p.postcode, p.commune_name].filter(Boolean).join(' '),
      p.approximate_position ? 'Position approximative (mairie ou commune).' : null,
      p.itinerant ? 'Service itinérant.' : null,
      p.receives_public ? null : "N'accueille pas de public : jamais proposé par la recherche ni compté dans les temps.",
      'Missions : ' + (p.missions || []).join(', ')
    ]);
  }

  function loadStructures() {
    drop('structures');
    if (!checked('couche-lieux')) { say('Lieux masqués.'); return; }
    var shown = {};
    form.querySelectorAll('input[name="type"]').forEach(function (box) { shown[box.value] = box.checked; });
    var showClosed = checked('couche-sans-accueil');
    Atlas.getJSON(urls.structuresUrl).then(function (data) {
      var count = 0;
      layers.structures = L.geoJSON(data, {
        filter: function (f) { return shown[f.properties.partner_type] && (f.properties.receives_public || showClosed); },
        pointToLayer: function (f, latlng) {
          count += 1;
          var colour = typeColours[f.properties.partner_type] || '#00507a';
          var open = f.properties.receives_public;
          // A place without public reception: a hollow, dashed circle in its type's colour.
          var marker = L.circleMarker(latlng, {
            radius: 6, weight: open ? 1.5 : 2.5, color: open ? '#ffffff' : colour, fillOpacity: open ? 1 : 0,
            dashArray: open ? null : '3 2', fillColor: colour,
            className: 'structure structure-' + f.properties.partner_type + (open ? '' : ' structure-sans-accueil')
          });
          marker.on('add', function () { marker.getElement().setAttribute('data-structure-id', String(f.id)); });
          return marker;
        },
        onEachFeature: function (f, layer) { layer.bindPopup(function () { return structurePopup(f.properties); }); }
      }).addTo(map);
      say(count + ' lieux affichés.');
    }).catch(function () { say('Lieux indisponibles.'); });
  }

  /* ------------------------------------------------------------ choropleth */
  function accessParams() { return { mode: value('mode') || 'drive', category: value('category') || 'any' }; }

  function updateExports() {
    var csv = document.getElementById('export-temps-csv');
    var geojson = document.getElementById('export-temps-geojson');
    var params = accessParams();
    if (geojson) { geojson.href = Atlas.withParams(urls.accessUrl, params); }
    if (csv) { params.format = 'csv'; csv.href = Atlas.withParams(urls.accessUrl, params); }
  }

  function loadAccess() {
    drop('access');
    updateExports();
    if (!checked('couche-temps')) { return; }
    say('Chargement des temps d\'accès…');
    Atlas.getJSON(Atlas.withParams(urls.accessUrl, accessParams())).then(function (data) {
      layers.access = L.geoJSON(data, {
        style: function (f) {
          var cls = f.properties['class'];
          return {
            color: '#ffffff', weight: 0.4, fillOpacity: 0.75,
            fillColor: cls === null || cls === undefined ? noneColour : timeColours[cls],
            className: 'commune commune-' + f.properties.code
          };
        },
        onEachFeature: function (f, layer) {
          layer.on('click', function () { showCommune(f.properties.code); });
          layer.bindPopup(function () {
            var p = f.properties;
            var box = el('div');
            box.appendChild(el('h3', p.name));
            return lines(box, [
              p.minutes === null ? 'Aucun lieu atteint.' : 'Lieu le plus proche : ' + Atlas.minutes(p.minutes * 60) + approxText(p),
              p.structure_name,
              'Réseaux distincts à moins de 30 min : ' + p.n_operators_30,
              'Détail sous la carte, rubrique « Chiffres d\'une commune ».'
            ]);
          });
        }
      }).addTo(map);
      layers.access.bringToBack();
      say(data.features.length + ' communes colorées selon le temps d\'accès' + approxText(data) + '.');
    }).catch(function () { say('Temps d\'accès indisponibles.'); });
  }

  /* ------------------------------------------------------------ isochrones, gaps, zones */
  function loadIsochrones() {
    drop('isochrones');
    if (!checked('couche-isochrones')) { return; }
    var params = { mode: value('mode') || 'drive', minutes: value('minutes') || '30' };
    Atlas.getJSON(Atlas.withParams(urls.isochronesUrl, params)).then(function (data) {
      layers.isochrones = L.geoJSON(data, {
        interactive: false,
        style: { color: '#b34700', weight: 1, opacity: 0.6, fillColor: '#f4a261', fillOpacity: 0.04, className: 'isochrone' }
      }).addTo(map);
      say(data.features.length + ' isochrones de ' + params.minutes + ' min' + approxText(data) + '.');
    }).catch(function () { say('Isochrones indisponibles.'); });
  }

  function loadGaps() {
    drop('gaps');
    if (!checked('couche-zones-blanches')) { return; }
    var params = { kind: 'white_zone', mode: value('mode') || 'drive', category: value('category') || 'any' };
    Atlas.getJSON(Atlas.withParams(urls.gapsUrl, params)).then(function (data) {
      layers.gaps = L.geoJSON(data, {
        style: { color: '#a50026', weight: 3, fillOpacity: 0, className: 'gap' },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            var p = f.properties;
            var box = el('div');
            box.appendChild(el('h3', p.commune_name));
            return lines(box, ['Zone blanche : ' + p.category_label, 'Au-delà de ' + p.threshold_minutes + ' min',
              p.population + ' habitants' + approxText(p)]);
          });
        }
      }).addTo(map);
      say(data.features.length + ' communes en zone blanche pour ce choix' + approxText(data) + '.');
    }).catch(function () { say('Zones blanches indisponibles.'); });
  }

  function loadZoning() {
    drop('zoning');
    var id = value('zonage');
    if (!id) { return; }
    Atlas.getJSON(urls.zoningUrl.replace('ZONING_ID', encodeURIComponent(id))).then(function (data) {
      layers.zoning = L.geoJSON(data, {
        style: { color: '#1b1b1b', weight: 3, fillOpacity: 0, className: 'zone' },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            var p = f.properties;
            var box = el('div');
            box.appendChild(el('h3', p.name));
            return lines(box, [p.population + ' habitants, ' + p.n_communes + ' communes',
              p.hub_name ? 'Pôle : ' + p.hub_name : null, p.explanation]);
          });
        }
      }).addTo(map);
      say('Zonage « ' + data.label + ' » : ' + data.features.length + ' zones.');
    }).catch(function () { say('Zonage indisponible.'); });
  }

  function loadScenario() {
    drop('scenario');
    var id = value('scenario');
    if (!id) { return; }
    Atlas.getJSON(urls.scenarioUrl.replace('SCENARIO_ID', encodeURIComponent(id))).then(function (data) {
      layers.scenario = L.geoJSON(data, {
        style: function (f) {
          var p = f.properties;
          var delta = (p.mean_seconds_after === null || p.mean_seconds_before === null) ? 0 : p.mean_seconds_after - p.mean_seconds_before;
          var colour = delta < 0 ? '#1a9850' : (delta > 0 ? '#762a83' : '#999999');
          return { color: colour, weight: 2, fillColor: colour, fillOpacity: delta === 0 ? 0.05 : 0.35, className: 'scenario-zone' };
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            var p = f.properties;
            var box = el('div');
            box.appendChild(el('h3', p.name));
            return lines(box, [
              'Temps moyen : ' + Atlas.minutes(p.mean_seconds_before) + ' → ' + Atlas.minutes(p.mean_seconds_after),
              p.newly_covered + ' habitants passent sous le seuil, ' + p.no_longer_covered + ' au-dessus',
              data.approximate ? 'Temps approximatifs' : null]);
          });
        }
      }).addTo(map);
      say('Scénario « ' + data.label + ' » : ' + data.features.length + ' zones' + approxText(data) + '.');
    }).catch(function () { say('Scénario indisponible.'); });
  }

  /* ------------------------------------------------------------ commune figures */
  function showCommune(code) {
    panel.textContent = 'Chargement…';
    Atlas.getJSON(urls.communeAccessUrl.replace('00000', encodeURIComponent(code))).then(function (data) {
      panel.textContent = '';
      var c = data.commune;
      panel.appendChild(el('h3', c.name + ' (' + c.code + ')'));
      panel.appendChild(el('p', c.population + ' habitants' + (data.approximate ? ' — temps approximatifs, calculés sans réseau routier détaillé.' : '.')));
      var modes = Object.keys(data.modes);
      if (!modes.length) { panel.appendChild(el('p', 'Temps de trajet pas encore calculés.')); return; }
      var table = el('table');
      table.appendChild(el('caption', 'Temps jusqu\'au lieu le plus proche depuis ' + c.name));
      var head = el('tr');
      head.appendChild(Object.assign(el('th', 'Lieux recherchés'), { scope: 'col' }));
      modes.forEach(function (m) {
        head.appendChild(Object.assign(el('th', m === 'drive' ? 'En voiture' : 'À pied'), { scope: 'col' }));
      });
      var thead = el('thead');
      thead.appendChild(head);
      table.appendChild(thead);
      var tbody = el('tbody');
      data.modes[modes[0]].categories.forEach(function (category, index) {
        var row = el('tr');
        row.appendChild(Object.assign(el('th', category.label), { scope: 'row' }));
        modes.forEach(function (m) {
          var item = data.modes[m].categories[index];
          var text = item && item.seconds !== null ? Atlas.minutes(item.seconds) + ' — ' + item.structure_name : 'non atteint';
          row.appendChild(el('td', text));
        });
        tbody.appendChild(row);
      });
      table.appendChild(tbody);
      panel.appendChild(table);
    }).catch(function () { panel.textContent = 'Chiffres indisponibles pour cette commune.'; });
  }

  var search = document.getElementById('chercher-commune');
  if (search) {
    search.addEventListener('submit', function (event) {
      event.preventDefault();
      var q = search.elements.namedItem('q').value.trim();
      if (q.length < 2) { panel.textContent = 'Saisissez au moins 2 caractères.'; return; }
      Atlas.getJSON(Atlas.withParams(urls.communesUrl, { q: q, limit: 5 })).then(function (data) {
        if (!data.communes.length) { panel.textContent = 'Aucune commune ne correspond.'; return; }
        showCommune(data.communes[0].code);
      }).catch(function () { panel.textContent = 'Recherche indisponible.'; });
    });
  }

  /* ------------------------------------------------------------ wiring */
  form.addEventListener('submit', function (event) { event.preventDefault(); });
  form.addEventListener('change', function (event) {
    var name = event.target.name;
    if (name === 'lieux' || name === 'type' || name === 'sans_accueil') { loadStructures(); }
    if (name === 'temps' || name === 'mode' || name === 'category') { loadAccess(); loadGaps(); }
    if (name === 'isochrones' || name === 'minutes' || name === 'mode') { loadIsochrones(); }
    if (name === 'zones_blanches') { loadGaps(); }
    if (name === 'zonage') { loadZoning(); }
    if (name === 'scenario') { loadScenario(); }
  });
  loadAccess();
  loadStructures();
})();
