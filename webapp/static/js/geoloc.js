/* "Utiliser ma position": fills latitude and longitude, rounded to 2 decimals (about 1 km),
   and submits the search form. Without JavaScript or geolocation the button stays hidden
   and the form works as is. */
(function () {
  'use strict';
  var box = document.querySelector('[data-geoloc]');
  if (!box || !('geolocation' in navigator)) { return; }
  var button = box.querySelector('[data-geoloc-button]');
  var status = box.querySelector('[data-geoloc-status]');
  var form = box.closest('form');
  box.hidden = false;
  button.addEventListener('click', function () {
    status.textContent = 'Recherche de votre position…';
    navigator.geolocation.getCurrentPosition(function (position) {
      form.querySelector('[name="lat"]').value = position.coords.latitude.toFixed(2);
      form.querySelector('[name="lon"]').value = position.coords.longitude.toFixed(2);
      form.querySelector('[name="q"]').value = '';
      status.textContent = 'Position trouvée, recherche en cours…';
      form.submit();
    }, function () {
      status.textContent = "Position indisponible : saisissez votre commune ou votre code postal.";
    }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
  });
})();
