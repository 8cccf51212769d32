/* Event day: check-in without reloading, the camera QR scanner (vendored jsQR) and the
   certificates' progress. The page works without this file as plain forms. */
(function () {
  "use strict";

  function csrfToken(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function show(box, ok, text) {
    box.innerHTML = "";
    var p = document.createElement("p");
    p.className = "result " + (ok ? "ok" : "bad");
    p.textContent = text;
    box.appendChild(p);
  }

  function markRow(itemIds) {
    (itemIds || []).forEach(function (id) {
      var row = document.querySelector('tr[data-item-id="' + id + '"] .checked-cell');
      if (!row) { return; }
      row.textContent = "✓";
      // The slot's own "n of m checked in" follows the row.
      var slotCount = row.closest(".card") && row.closest(".card").querySelector(".slot-checked");
      if (slotCount) { slotCount.textContent = String(parseInt(slotCount.textContent, 10) + 1); }
    });
    var counter = document.getElementById("count-checked-in");
    if (counter && itemIds) { counter.textContent = String(parseInt(counter.textContent, 10) + itemIds.length); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("checkin-form");
    if (!form || !window.fetch) { return; }
    var box = document.getElementById("checkin-result");
    var input = document.getElementById("booking-number");
    var qrField = document.getElementById("qr-payload");
    var texts = document.getElementById("scan-texts").dataset;
    var busy = false;

    function submit() {
      if (busy) { return Promise.resolve(); }
      busy = true;
      return fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(form) }
      }).then(function (response) {
        return response.json().then(function (body) {
          if (response.ok && body.ok) { show(box, true, body.message); markRow(body.item_ids); }
          else { show(box, false, (body.error && body.error.message) || response.statusText); }
        });
      }).catch(function () { show(box, false, texts.network); })
        .then(function () { busy = false; input.value = ""; qrField.value = ""; input.focus(); });
    }

    form.addEventListener("submit", function (ev) { ev.preventDefault(); submit(); });

    // The camera scanner: only where the browser has a camera API and the decoder loaded.
    var scanner = document.getElementById("scanner");
    if (!scanner || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.jsQR) { return; }
    scanner.hidden = false;
    var start = document.getElementById("scan-start");
    var stop = document.getElementById("scan-stop");
    var video = document.getElementById("scan-video");
    var canvas = document.getElementById("scan-canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    var stream = null, lastCode = "", lastAt = 0;

    function tick() {
      if (!stream) { return; }
      if (video.readyState === video.HAVE_ENOUGH_DATA && !busy) {
        canvas.width = video.videoWidth; canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        var now = Date.now();
        // The same ticket stays in view for a while: read it once every few seconds at most.
        if (code && code.data && (code.data !== lastCode || now - lastAt > 4000)) {
          lastCode = code.data; lastAt = now;
          qrField.value = code.data;
          input.value = "";
          submit();
        }
      }
      window.requestAnimationFrame(tick);
    }

    start.addEventListener("click", function () {
      show(box, true, texts.starting);
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (s) {
          stream = s; video.srcObject = s; video.hidden = false;
          start.hidden = true; stop.hidden = false;
          box.innerHTML = "";
          return video.play();
        })
        .then(function () { window.requestAnimationFrame(tick); })
        .catch(function () { show(box, false, texts.noCamera); });
    });
    stop.addEventListener("click", function () {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      stream = null; video.hidden = true; stop.hidden = true; start.hidden = false;
    });
  });

  // Certificates: follow the job's progress until every certificate is made.
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("cert-progress");
    if (!box || !window.fetch) { return; }
    var total = parseInt(box.dataset.total, 10), ready = parseInt(box.dataset.ready, 10);
    if (!(total > ready)) { return; }
    var rounds = 0;
    var timer = window.setInterval(function () {
      rounds += 1;
      fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          document.getElementById("cert-ready").textContent = p.certificates_ready;
          document.getElementById("cert-total").textContent = p.certificates_eligible;
          var bar = document.getElementById("cert-bar");
          bar.max = Math.max(p.certificates_eligible, 1); bar.value = p.certificates_ready;
          if (p.certificates_ready >= p.certificates_eligible || rounds > 200) { window.clearInterval(timer); }
        })
        .catch(function () { window.clearInterval(timer); });
    }, 3000);
  });
})();
