// "Afficher": shows a password field's text while pressed; hidden again before the form
// is sent, so that password managers see a password field.
(function () {
  "use strict";
  document.querySelectorAll("[data-reveal]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-reveal"));
    if (!input) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var shown = input.type === "password";
      input.type = shown ? "text" : "password";
      button.setAttribute("aria-pressed", shown ? "true" : "false");
    });
    if (input.form) {
      input.form.addEventListener("submit", function () {
        input.type = "password";
        button.setAttribute("aria-pressed", "false");
      });
    }
  });
}());
