"use strict";
// The backup codes page: the print button (hidden without JavaScript,
// where the browser's own print command does the same) prints the page,
// and the print stylesheet (codes-print.css) leaves only the codes on paper.
(function () {
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
})();
