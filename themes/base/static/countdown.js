// Moves on by itself after a delay, with a visible countdown that can be stopped
// (WCAG 2.2.1). Without this script the page simply waits for the button.
(function () {
  "use strict";
  var form = document.getElementById("continue-form");
  var label = document.getElementById("countdown");
  var stop = document.getElementById("countdown-stop");
  if (!form || !label || !stop) { return; }
  var left = parseInt(form.getAttribute("data-seconds"), 10) || 15;
  var text = label.getAttribute("data-text");
  var timer = null;
  function show() { label.textContent = text.replace("{seconds}", String(left)); }
  function tick() {
    left -= 1;
    if (left <= 0) { window.clearInterval(timer); form.submit(); return; }
    show();
  }
  label.hidden = false;
  stop.hidden = false;
  show();
  timer = window.setInterval(tick, 1000);
  stop.addEventListener("click", function () {
    window.clearInterval(timer);
    label.textContent = label.getAttribute("data-stopped");
    stop.hidden = true;
    form.querySelector("button[type=submit]").focus();
  });
}());
