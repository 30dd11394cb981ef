// Racik payments: the "Salin kode" button beside a retail-outlet payment code. Without
// JavaScript the button stays hidden and the code is selected whole with one tap
// (user-select: all), so nothing depends on this file.
(function () {
  "use strict";
  function wire(root) {
    var buttons = (root || document).querySelectorAll("button.js-copy[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      if (!navigator.clipboard || button.dataset.wired) return;
      button.dataset.wired = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.getElementById(button.dataset.copyTarget);
        if (!target) return;
        var status = button.parentNode.querySelector("[data-copy-status]");
        navigator.clipboard.writeText(target.dataset.code || target.textContent.trim())
          .then(function () { if (status) status.textContent = button.dataset.copied; })
          .catch(function () { if (status) status.textContent = ""; });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wire(event.target); });
})();
