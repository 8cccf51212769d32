/* Report export page: poll the job's progress every 1.5 s and show the download when done.
   Without JavaScript the page refreshes itself (<noscript> meta refresh). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("report");
    if (!box || !window.fetch) { return; }
    var bar = document.getElementById("report-progress");
    var percent = document.getElementById("report-percent");
    var status = document.getElementById("report-status");
    var download = document.getElementById("report-download");
    var error = document.getElementById("report-error");
    function show(state) {
      bar.value = state.progress;
      bar.textContent = state.progress + "%";
      percent.textContent = state.progress + "%";
      if (state.status === "done") {
        status.textContent = box.getAttribute("data-label-done");
        download.hidden = false;
      } else if (state.status === "failed") {
        status.textContent = box.getAttribute("data-label-failed");
        error.textContent = state.error || "";
        error.hidden = false;
      }
      return state.status === "queued" || state.status === "running";
    }
    function poll() {
      fetch(box.getAttribute("data-status-url"), {credentials: "same-origin",
                                                   headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (state && show(state)) { window.setTimeout(poll, 1500); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    if (!download.hidden || !error.hidden) { return; }
    poll();
  });
})();
