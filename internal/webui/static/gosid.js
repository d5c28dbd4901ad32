// Progressive enhancement only: every page works without this script.
"use strict";
(function () {
  // An answer to a site in response_mode=form_post is a form that sends
  // itself: the CSP allows no inline script, so it is submitted from here.
  // Without JavaScript its button does the same.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.submit();
  });

  // Live password hints: each <li data-rule> of a .rules list is marked as
  // met while the citizen types. The server checks the same rules (and the
  // ones a browser cannot: breached lists, the login) on submit.
  var checks = {
    min_length: function (p) { return Array.from(p).length >= 8; },
    max_length: function (p) { var n = Array.from(p).length; return n > 0 && n <= 64; },
    upper: function (p) { return /[A-Z]/.test(p); },
    lower: function (p) { return /[a-z]/.test(p); },
    digit: function (p) { return /[0-9]/.test(p); },
    special: function (p) { return /[^A-Za-z0-9\s]/.test(p); },
    repeat: function (p) { return p.length > 0 && !/(.)\1\1/.test(p); },
    charset: function (p) { return p.length > 0 && !/[^\x21-\x7e]/.test(p); },
    match: function (p, c) { return p.length > 0 && p === c; }
  };
  document.querySelectorAll("ul.rules[data-for]").forEach(function (list) {
    var input = document.getElementById(list.getAttribute("data-for"));
    var confirm = list.hasAttribute("data-confirm") ? document.getElementById(list.getAttribute("data-confirm")) : null;
    if (!input) return;
    function update() {
      list.querySelectorAll("li[data-rule]").forEach(function (li) {
        var f = checks[li.getAttribute("data-rule")];
        if (!f) return;
        var ok = f(input.value, confirm ? confirm.value : "");
        li.classList.toggle("met", ok);
        // The server's mark of a broken rule goes once the rule is met.
        if (ok) {
          li.classList.remove("unmet");
          var note = li.querySelector(".rule-note");
          if (note) note.remove();
        }
      });
    }
    input.addEventListener("input", update);
    if (confirm) confirm.addEventListener("input", update);
    update();
  });
})();
