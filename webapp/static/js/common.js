/* Atlas SPRO: helpers shared by the maps. Data are always written with textContent,
   never innerHTML: names come from third-party files and are untrusted. */
(function () {
  'use strict';

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) { return '–'; }
    var total = Math.max(1, Math.round(seconds / 60));
    if (total < 60) { return total + ' min'; }
    var rest = total % 60;
    return Math.floor(total / 60) + ' h ' + (rest < 10 ? '0' : '') + rest;
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, credentials: 'omit' }).then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    });
  }

  function withParams(url, params) {
    var query = Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== ''; })
      .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
    return query ? url + (url.indexOf('?') >= 0 ? '&' : '?') + query : url;
  }

  /* A Leaflet map in French, keyboard-usable, with no tile unless the deployer configured one. */
  function createMap(container) {
    var fallback = container.querySelector('.map-fallback');
    if (fallback) { fallback.remove(); }
    var tileUrl = container.getAttribute('data-tile-url');
    var map = L.map(container, { zoomControl: false, attributionControl: false, zoomSnap: 0.25 });
    L.control.zoom({ zoomInTitle: 'Zoom avant', zoomOutTitle: 'Zoom arrière' }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 18, attribution: 'Fond de carte : voir « À propos »' }).addTo(map);
      L.control.attribution({ prefix: false }).addTo(map);
    }
    map.setView([48.2, -2.9], 8);
    return map;
  }

  /* A computed CSS colour, so that the legend (CSS) and the map never disagree. */
  function cssColour(className, fallback) {
    var probe = el('span', null, 'swatch ' + className);
    probe.style.position = 'absolute';
    probe.style.visibility = 'hidden';
    document.body.appendChild(probe);
    var colour = window.getComputedStyle(probe).backgroundColor;
    probe.remove();
    return colour || fallback;
  }

  window.Atlas = { el: el, minutes: minutes, getJSON: getJSON, withParams: withParams, createMap: createMap, cssColour: cssColour };
})();
