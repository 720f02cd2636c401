/* After a search, move the keyboard and screen-reader focus to the answer's heading (results,
   chooser or « aucune commune »), so that nobody has to tab through the form again. The form
   and the links also target #reponse, which scrolls there without JavaScript. */
(function () {
  'use strict';
  var heading = document.querySelector('[data-focus-on-load]');
  if (heading) { heading.focus(); }
})();
