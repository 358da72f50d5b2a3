// Ticks the password rules as the participant types, counting as the server does:
// NFKC first, then code points; classes by Unicode property.
(function () {
  "use strict";
  var input = document.getElementById("new");
  var rules = document.getElementById("rules");
  if (!input || !rules || !String.prototype.normalize) { return; }
  var min = parseInt(rules.getAttribute("data-min"), 10);
  var max = parseInt(rules.getAttribute("data-max"), 10);
  var number = rules.getAttribute("data-number") || "";
  var checks = {
    length: function (p) { var n = Array.from(p).length; return n >= min && n <= max; },
    lower: function (p) { return /\p{Lowercase}/u.test(p); },
    upper: function (p) { return /\p{Uppercase}/u.test(p); },
    digit: function (p) { return /\p{N}/u.test(p); },
    special: function (p) { return /[^\p{Alphabetic}\p{N}]/u.test(p); },
    number: function (p) { return number === "" || p.indexOf(number) < 0; }
  };
  function update() {
    var p = input.value.normalize("NFKC");
    // Rules only the server checks (common passwords, the current one) stay while failed.
    rules.querySelectorAll("li:not([data-rule]):not(.failed)").forEach(function (li) { li.hidden = true; });
    rules.querySelectorAll("li[data-rule]").forEach(function (li) {
      var check = checks[li.getAttribute("data-rule")];
      if (!check) { return; }
      var ok = p.length > 0 && check(p);
      li.classList.toggle("met", ok);
      li.classList.remove("failed");
    });
  }
  input.addEventListener("input", update);
}());
