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

    // "Add a row" under a slot or variant table: copy the last row with the next index.
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.addEventListener("click", function () {
        var name = button.getAttribute("data-add-row");
        var table = document.querySelector('table[data-rows="' + name + '"] tbody');
        if (!table) { return; }
        var rows = table.querySelectorAll("tr");
        var last = rows[rows.length - 1];
        var copy = last.cloneNode(true);
        var pattern = new RegExp("^(" + name.replace(/[-]/g, "\\-") + "-)(\\d+)(-)");
        var next = rows.length;
        copy.querySelectorAll("[name], [id], [aria-describedby]").forEach(function (el) {
          ["name", "id", "aria-describedby"].forEach(function (attr) {
            var value = el.getAttribute(attr);
            if (value) { el.setAttribute(attr, value.replace(pattern, "$1" + next + "$3")); }
          });
          if (el.tagName === "INPUT") {
            if (el.type === "checkbox") { el.checked = el.name.slice(-8) === "-is_open" || el.name.slice(-10) === "-is_active"; }
            else { el.value = ""; }
            el.removeAttribute("aria-invalid");
          }
        });
        copy.querySelectorAll(".error").forEach(function (el) { el.remove(); });
        copy.querySelectorAll("td.num").forEach(function (el) { el.textContent = ""; });
        copy.querySelectorAll("[aria-label]").forEach(function (el) {
          el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/\d+\)$/, (next + 1) + ")"));
        });
        table.appendChild(copy);
        var first = copy.querySelector("input:not([type=hidden])");
        if (first) { first.focus(); }
      });
    });

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
