// Saves a draft application as the citizen types: a moment after the last
// change, the form's fields are posted to its autosave address (the
// server keeps them; a reload or another device loses nothing).
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  var state = document.getElementById("autosave-state");
  var lang = document.documentElement.lang;
  var timer = null;
  function say(ru, en) { if (state) { state.textContent = lang === "en" ? en : ru; } }
  function save() {
    timer = null;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.dataset.autosave, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 204) { say("Сохранено", "Saved"); } else { say("Не сохранено", "Not saved"); }
      })
      .catch(function () { say("Не сохранено: нет связи", "Not saved: offline"); });
  }
  function changed() {
    say("", "");
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 700);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
})();
