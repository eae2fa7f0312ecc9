// Smart AI Hub page helpers (served from /static: the CSP allows no inline script).
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#selector">.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field) { return; }
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = "Copied";
      });
    });
  });
  // The dashboard's own calls to /api: send the session's CSRF token.
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.hubFetch = function (url, options) {
    options = options || {};
    options.headers = Object.assign({ "X-CSRFToken": meta ? meta.content : "" }, options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options);
  };
})();
