// Moves on by itself after a delay, with a visible countdown that can be stopped
// (WCAG 2.2.1). Without this script the page simply waits for the button.
(function () {
  "use strict";
  var form = document.getElementById("continue-form");
  var label = document.getElementById("countdown");
  var live = document.getElementById("countdown-live");
  var auto = document.getElementById("countdown-auto");
  var stop = document.getElementById("countdown-stop");
  if (!form || !label || !live || !stop) { return; }
  var left = parseInt(form.getAttribute("data-seconds"), 10) || 15;
  var text = label.getAttribute("data-text");
  var timer = null;
  // The count shows every second; screen readers hear it every five, not each tick.
  function show() {
    label.textContent = text.replace("{seconds}", String(left));
    if (left % 5 === 0) { live.textContent = label.textContent; }
  }
  function tick() {
    left -= 1;
    if (left <= 0) { window.clearInterval(timer); form.submit(); return; }
    show();
  }
  label.hidden = false;
  stop.hidden = false;
  if (auto) { auto.hidden = false; }
  show();
  timer = window.setInterval(tick, 1000);
  stop.addEventListener("click", function () {
    window.clearInterval(timer);
    label.textContent = label.getAttribute("data-stopped");
    live.textContent = label.textContent;
    stop.hidden = true;
    form.querySelector("button[type=submit]").focus();
  });
}());
