// The demo shop's own script (no inline scripts: the page's CSP is script-src 'self').
// ?lang=it or ?lang=pl sets the page language, which the widget follows.
(function () {
  "use strict";
  var lang = new URLSearchParams(location.search).get("lang");
  if (lang === "en" || lang === "it" || lang === "pl") document.documentElement.lang = lang;

  document.addEventListener("DOMContentLoaded", function () {
    var snippet = document.getElementById("snippet");
    if (snippet) {
      snippet.textContent =
        '<script src="' + location.origin + '/widget.js" data-site="SITE_KEY" async></script>';
    }
    document.querySelectorAll("[data-open-chat]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (window.SupportWidget) window.SupportWidget.open();
      });
    });
  });
})();
