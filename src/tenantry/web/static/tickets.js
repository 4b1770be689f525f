/* Ticket pages: SLA due times count down (the server's text is right at load, this keeps
   it fresh), and the bulk bar's box that ticks every ticket. */
"use strict";

(function () {
  function fmt(ms) {
    var late = ms < 0, s = Math.abs(Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var t = d ? d + "d " + h + "h" : h ? h + "h " + String(m).padStart(2, "0") + "m" : m + "m";
    return late ? t + " overdue" : "in " + t;
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var ms = new Date(el.getAttribute("data-due")).getTime() - Date.now();
      if (isNaN(ms)) return;
      el.textContent = fmt(ms);
      if (ms < 0) el.classList.add("tk-late");
    });
  }
  function start() {
    tick();
    setInterval(tick, 30000);
    var all = document.querySelector("[data-check-all]");
    if (all) all.addEventListener("change", function () {
      document.querySelectorAll("input[name=numbers]").forEach(function (box) { box.checked = all.checked; });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
