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

// Notification settings: turn web push on or off in this browser. The
// subscription goes to the portal as JSON; the service worker /sw.js shows
// what arrives.
(function () {
  var box = document.getElementById("push");
  if (!box) return;
  var on = document.getElementById("push-on"), off = document.getElementById("push-off");
  var show = function (id) { document.getElementById(id).hidden = false; };
  // Notification.requestPermission is what the "on" button calls first;
  // some browsers have PushManager without it (outside an installed app).
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) { show("push-unsupported"); return; }
  var key = box.getAttribute("data-key");
  var bytes = function (b64) {
    var s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  };
  var post = function (url, field, value) {
    var body = new URLSearchParams();
    body.set(field, value);
    return fetch(url, {method: "POST", body: body, credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
    });
  };
  navigator.serviceWorker.register("/sw.js").then(function () { return navigator.serviceWorker.ready; }).then(function (reg) {
    return reg.pushManager.getSubscription().then(function (sub) {
      (sub ? off : on).hidden = false;
      on.addEventListener("click", function () {
        on.disabled = true;
        Notification.requestPermission().then(function (perm) {
          if (perm !== "granted") { show("push-denied"); on.disabled = false; return; }
          return reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: bytes(key)}).then(function (s) {
            // The portal must keep it, or the browser would stay subscribed
            // to nothing: undo the subscription when the portal refuses it.
            return post("/settings/notifications/push", "subscription", JSON.stringify(s)).catch(function (e) {
              return s.unsubscribe().then(function () { throw e; });
            });
          }).then(function () { location.href = "/settings/notifications?done=push_on"; });
        }).catch(function () { on.disabled = false; show("push-failed"); });
      });
      off.addEventListener("click", function () {
        off.disabled = true;
        reg.pushManager.getSubscription().then(function (s) {
          if (!s) return;
          var endpoint = s.endpoint;
          return s.unsubscribe().then(function () { return post("/settings/notifications/push/delete", "endpoint", endpoint); });
        }).then(function () { location.href = "/settings/notifications?done=push_off"; })
          .catch(function () { off.disabled = false; });
      });
    });
  }).catch(function () { show("push-unsupported"); });
})();

// Notification settings: a citizen who never chose a time zone starts
// with the browser's, when it is one of the list.
(function () {
  var tz = document.querySelector('select#tz[data-guess]');
  if (!tz || !window.Intl) return;
  var mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (mine === "Asia/Novosibirsk" || mine === "Asia/Barnaul" || mine === "Asia/Tomsk" || mine === "Asia/Novokuznetsk") mine = "Asia/Krasnoyarsk";
  if (mine === "Europe/Volgograd" || mine === "Europe/Kirov" || mine === "Europe/Simferopol") mine = "Europe/Moscow";
  if (mine === "Europe/Ulyanovsk" || mine === "Europe/Saratov" || mine === "Europe/Astrakhan") mine = "Europe/Samara";
  for (var i = 0; i < tz.options.length; i++) {
    if (tz.options[i].value === mine) { tz.selectedIndex = i; return; }
  }
})();
