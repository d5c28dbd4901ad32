"use strict";
// The access code page: the print button (hidden without JavaScript, where
// the browser's own print command does the same) prints the slip.
(function () {
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
})();
