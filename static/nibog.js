/* NIBOG parent site: small progressive scripts. Every page works without them.
   - data-autosubmit: a <select> that sends its form when changed (city picker, filters)
   - data-countdown: the booking hold's remaining time; shows the "expired" note at zero
   - data-live-seats: refreshes the "seats left" of an event's slots every 20 seconds */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  each("select[data-autosubmit]", function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.submit(); }
    });
  });

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  each("[data-countdown]", function (box) {
    var until = Date.parse(box.getAttribute("data-countdown"));
    var clock = box.querySelector("[data-countdown-clock]");
    var expired = box.querySelector("[data-countdown-expired]");
    var running = box.querySelector("[data-countdown-running]");
    if (isNaN(until) || !clock) { return; }
    function tick() {
      var left = Math.max(0, Math.round((until - Date.now()) / 1000));
      clock.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
      if (left > 0) { return; }
      clearInterval(timer);
      box.classList.add("expired");
      if (running) { running.hidden = true; }
      if (expired) { expired.hidden = false; expired.focus(); }
      each("form[data-hold-form] button[type=submit]", function (b) { b.disabled = true; });
    }
    var timer = setInterval(tick, 1000);
    tick();
  });

  function seatsText(el, n) {
    var key = n <= 0 ? "data-text-full" : (n === 1 ? "data-text-one" : "data-text-many");
    return (el.getAttribute(key) || String(n)).replace("{n}", String(n));
  }

  each("[data-live-seats]", function (root) {
    var url = root.getAttribute("data-live-seats");
    function refresh() {
      if (document.hidden) { return; }
      var xhr = new XMLHttpRequest();
      xhr.open("GET", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.onload = function () {
        if (xhr.status !== 200) { return; }
        var detail;
        try { detail = JSON.parse(xhr.responseText); } catch (e) { return; }
        (detail.games || []).forEach(function (game) {
          (game.slots || []).forEach(function (slot) {
            var el = root.querySelector("[data-slot-seats='" + slot.id + "']");
            if (!el) { return; }
            var seats = slot.status === "available" ? slot.seats_left : 0;
            el.textContent = seatsText(el, seats);
            var row = el.closest("[data-slot]");
            if (row) { row.classList.toggle("is-full", seats <= 0); }
          });
        });
      };
      xhr.send();
    }
    setInterval(refresh, 20000);
  });
}());
