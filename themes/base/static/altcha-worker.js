// Finds the number n such that SHA-256(salt + n) is the challenge (ALTCHA v1).
self.onmessage = async function (event) {
  "use strict";
  var c = event.data;
  var encoder = new TextEncoder();
  function hex(buffer) {
    return Array.from(new Uint8Array(buffer)).map(function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }
  for (var n = 0; n <= c.maxnumber; n += 1) {
    var digest = await crypto.subtle.digest("SHA-256", encoder.encode(c.salt + n));
    if (hex(digest) === c.challenge) { self.postMessage(n); return; }
  }
  self.postMessage(null);
};
