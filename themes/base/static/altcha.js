// The anti-robot check: on click (or when the form is sent first), fetch a challenge for the number typed so far and solve
// it in a Web Worker (ALTCHA v1), then put the solution in the form's "altcha" field.
(function () {
  "use strict";
  document.querySelectorAll("[data-captcha]").forEach(function (box) {
    var button = box.querySelector("button");
    var field = box.querySelector("input[name=altcha]");
    var status = box.querySelector("[data-captcha-status]");
    var form = box.closest("form");
    if (!button || !field || !status || !form || !window.Worker) { return; }
    box.hidden = false;
    function say(key) { status.textContent = status.getAttribute("data-" + key); }
    var then = null;
    // aria-disabled rather than disabled: a disabled button drops the keyboard focus.
    var busy = false;
    function done() { busy = false; button.removeAttribute("aria-disabled"); }
    function solve() {
      if (busy) { return; }
      busy = true;
      button.setAttribute("aria-disabled", "true");
      say("working");
      var number = form.querySelector("input[name=number]");
      var url = box.getAttribute("data-captcha") + "?for=" + encodeURIComponent(number ? number.value : "");
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) { throw new Error("challenge"); } return r.json(); })
        .then(function (challenge) {
          var worker = new Worker(box.getAttribute("data-worker"));
          function fail() { worker.terminate(); done(); say("failed"); }
          worker.onerror = fail;
          worker.onmessage = function (event) {
            if (event.data === null) { fail(); return; }
            worker.terminate();
            field.value = btoa(JSON.stringify({
              algorithm: challenge.algorithm, challenge: challenge.challenge,
              number: event.data, salt: challenge.salt, signature: challenge.signature
            }));
            done();
            button.setAttribute("aria-pressed", "true");
            say("done");
            if (then) { then(); }
          };
          worker.postMessage(challenge);
        })
        .catch(function () { done(); say("failed"); });
    }
    button.addEventListener("click", function () { if (!field.value) { solve(); } });
    // A page shown again from the history must not resend a solution already used.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) { return; }
      field.value = "";
      then = null;
      done();
      button.setAttribute("aria-pressed", "false");
      status.textContent = "";
    });
    // Sending the form before the check is done finishes the check, then sends it.
    form.addEventListener("submit", function (event) {
      if (field.value) { return; }
      event.preventDefault();
      then = function () { then = null; form.submit(); };
      solve();
    });
  });
}());
