/* The finder's results on a map, built from the accessible list itself (data-* attributes
   and text), so that the map never shows anything the list does not say. */
(function () {
  'use strict';
  var container = document.getElementById('carte-resultats');
  if (!container || !window.L || !window.Atlas) { return; }
  var map = Atlas.createMap(container);
  var points = [];

  function popupFor(item, rank) {
    var box = Atlas.el('div');
    box.appendChild(Atlas.el('h3', rank + '. ' + item.getAttribute('data-name')));
    box.appendChild(Atlas.el('p', item.getAttribute('data-type')));
    var meta = item.querySelector('.meta');
    if (meta) { box.appendChild(Atlas.el('p', meta.textContent.replace(/\s+/g, ' ').trim())); }
    var address = item.querySelector('.address');
    if (address) { box.appendChild(Atlas.el('p', address.textContent.replace(/\s+/g, ' ').trim())); }
    return box;
  }

  document.querySelectorAll('.results .result').forEach(function (item, index) {
    var lat = parseFloat(item.getAttribute('data-lat'));
    var lon = parseFloat(item.getAttribute('data-lon'));
    if (!isFinite(lat) || !isFinite(lon)) { return; }
    var rank = index + 1;
    var marker = L.marker([lat, lon], {
      icon: L.divIcon({ className: 'rank-marker', html: '', iconSize: [26, 26] }),
      title: rank + '. ' + item.getAttribute('data-name'),
      keyboard: true
    });
    marker.bindPopup(function () { return popupFor(item, rank); });
    marker.addTo(map);
    marker.getElement().textContent = String(rank);
    points.push([lat, lon]);
  });

  var territoriesUrl = container.getAttribute('data-territories-url');
  if (territoriesUrl) {
    Atlas.getJSON(territoriesUrl).then(function (data) {
      L.geoJSON(data, { interactive: false, style: { color: '#8a8a8a', weight: 1, fill: false } }).addTo(map).bringToBack();
    }).catch(function () { /* context only */ });
  }
  var communeUrl = container.getAttribute('data-commune-url');
  if (communeUrl) {
    Atlas.getJSON(communeUrl).then(function (feature) {
      var outline = L.geoJSON(feature, { interactive: false, style: { color: '#1b1b1b', weight: 2, fillOpacity: 0.05 } });
      outline.addTo(map);
      if (!points.length) { map.fitBounds(outline.getBounds()); }
    }).catch(function () { /* the list already says everything */ });
  }
  if (points.length) { map.fitBounds(points, { padding: [30, 30], maxZoom: 13 }); }
})();
