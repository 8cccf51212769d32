/* NIBOG back office: small enhancements over plain HTML forms (no framework, no CDN). */
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    // Menu button below 1024px.
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("admin-nav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }

    // Destructive actions ask first: <form data-confirm="message">.
    var dialog = document.getElementById("confirm-dialog");
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      var message = form.getAttribute && form.getAttribute("data-confirm");
      if (!message || form.dataset.confirmed === "yes") { return; }
      ev.preventDefault();
      var submitter = ev.submitter;
      function go() {
        form.dataset.confirmed = "yes";
        if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
      }
      if (!dialog || typeof dialog.showModal !== "function") {
        if (window.confirm(message)) { go(); }
        return;
      }
      document.getElementById("confirm-message").textContent = message;
      dialog.returnValue = "";
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue === "ok") { go(); }
      });
      dialog.showModal();
    }, true);
  });
})();
