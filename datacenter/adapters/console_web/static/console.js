// The web console's only script besides htmx (no inline script: the CSP forbids it).
// Charger une base: send the file with a progress bar; the server streams it on to the
// console API in chunks. Without JavaScript the form still posts normally.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var bar = document.getElementById(form.dataset.progress);
      var status = document.getElementById("upload-status");
      var data = new FormData(form);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", data.get("csrf"));
      bar.hidden = false;
      bar.value = 0;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((100 * e.loaded) / e.total);
          status.textContent = bar.value + " %";
        }
      });
      xhr.addEventListener("load", function () {
        var location = form.action.replace(/\/fichier$/, "");
        try {
          location = JSON.parse(xhr.responseText).location || location;
        } catch (ignored) { /* an error page: follow the tab, it shows the refusal */ }
        window.location.assign(location);
      });
      xhr.addEventListener("error", function () {
        status.textContent = "Échec de l'envoi : vérifiez la connexion et recommencez.";
      });
      xhr.send(data);
    });
  });
});
