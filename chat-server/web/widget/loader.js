// Served as /widget.js. One <script src="https://<tenant-host>/widget.js" async></script> on
// any site loads the widget. The API origin is where this script came from, so the same tag
// works for every tenant without configuration. The rest is ES modules from that origin.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) {
    // Some loaders inject the tag in ways that leave currentScript unset; find it by name.
    var all = document.querySelectorAll('script[src*="/widget.js"]');
    script = all[all.length - 1];
  }
  if (!script || !script.src) {
    console.error('Atendo widget: cannot tell which server this script came from');
    return;
  }
  var origin = new URL(script.src, document.baseURI).origin;
  var loaded = (window.__atendoWidgets = window.__atendoWidgets || {});
  if (loaded[origin]) return;
  loaded[origin] = true;
  import(origin + '/assets/widget/main.js')
    .then(function (m) {
      return m.mount({ origin: origin, lang: script.getAttribute('data-locale') });
    })
    .catch(function (e) {
      loaded[origin] = false;
      console.error('Atendo widget failed to start:', e);
    });
})();
