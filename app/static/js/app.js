// Racik: the little behaviour htmx does not cover. Everything works without this file.
(function () {
  "use strict";
  // Elements marked .js-hidden (fallback submit buttons) are only needed without JavaScript.
  document.documentElement.classList.add("js");

  // Click-to-edit: Escape in an inline edit form follows its cancel link (htmx re-GETs
  // the display row); Enter submits the form natively.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("form[data-cancel]");
    if (!form) return;
    var cancel = document.querySelector(form.getAttribute("data-cancel"));
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });

  // A swapped-in edit row takes the focus (autofocus does not fire on swapped content).
  document.addEventListener("htmx:afterSwap", function () {
    var input = document.querySelector("form.inline-edit input[name=stok]");
    if (input) {
      input.focus();
      input.select();
    }
  });
})();
