// Progressive enhancement only: every page works without this script.
"use strict";
(function () {
  // An answer to a site in response_mode=form_post is a form that sends
  // itself: the CSP allows no inline script, so it is submitted from here.
  // Without JavaScript its button does the same.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.submit();
  });

  // A form is sent once while its answer is on the way. A double click,
  // or Enter pressed twice, would send a second request: the server lets
  // only one of them go on (a flow is claimed once, a payment has one
  // key), and the browser shows the answer to the last one, the loser's
  // «the session has expired». The guard lapses after 10 s (an answer
  // that never came may be asked for again) and on a page restored from
  // the back-forward cache.
  var sendGuard = 10000;
  function release(form) {
    delete form.dataset.sending;
    form.removeAttribute("aria-busy");
  }
  // On window, so that it runs after the listeners of the form and the
  // document: a submission one of them stopped was not sent.
  window.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") return;
    if (form.dataset.sending) {
      e.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    form.setAttribute("aria-busy", "true");
    setTimeout(function () { release(form); }, sendGuard);
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) document.querySelectorAll("form[data-sending]").forEach(release);
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
