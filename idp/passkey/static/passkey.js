// Passkeys (WebAuthn) for Gosid's pages. No inline script: pages mark their
// parts with data attributes and this file does the rest.
//
//   [data-passkey-register]  the account page's "add a passkey" block
//   [data-passkey-login]     the sign-in page's passkey block: a button for a
//                            modal request and, where the browser supports it,
//                            autofill (conditional mediation) on the login input
//                            (autocomplete="username webauthn")
//   [data-passkey-assert]    any other page that checks a passkey (a second
//                            factor): a button for a modal request
//
// Each block holds [data-passkey-button], [data-passkey-error] and optionally
// [data-passkey-status] and [data-passkey-actions] (a hidden wrapper of the
// button, shown when the browser can use passkeys); it carries data-begin
// and data-finish URLs, an optional data-next, and data-msg-* texts in the
// page's language. The server's answers are JSON: options to pass to the
// browser, then {"redirect": url} or {"error": code, "message": text}.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    document.querySelectorAll("[data-passkey-register],[data-passkey-login],[data-passkey-assert]").forEach(function (el) {
      var unsupported = el.getAttribute("data-msg-unsupported");
      var err = el.querySelector("[data-passkey-error]");
      if (unsupported && err && el.hasAttribute("data-passkey-register")) show(err, unsupported);
    });
    return;
  }

  // --- encoding: base64url strings in JSON, ArrayBuffers in the API ---
  function toBuffer(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (d) {
      var o = { type: d.type, id: toBuffer(d.id) };
      if (d.transports) o.transports = d.transports;
      return o;
    });
  }
  function creationOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: toBuffer(pk.user.id) });
    if (pk.excludeCredentials) o.excludeCredentials = descriptors(pk.excludeCredentials);
    return o;
  }
  function requestOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    if (pk.allowCredentials) o.allowCredentials = descriptors(pk.allowCredentials);
    return o;
  }
  function credentialJSON(c) {
    var r = c.response, out = {
      id: c.id, rawId: toB64(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) out.response.userHandle = toB64(r.userHandle);
    }
    return out;
  }

  // --- talking to Gosid ---
  // post resolves to {ok, data}; a network failure rejects with a
  // "network" error.
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) { return { ok: resp.ok, data: data }; });
    }, function () {
      var e = new Error("network"); e.name = "NetworkError"; throw e;
    });
  }
  // ServerError carries a refusal's JSON.
  function serverError(data) {
    var e = new Error(data.message || data.error || "error");
    e.name = "ServerError"; e.data = data;
    return e;
  }
  function begin(url) {
    return post(url).then(function (res) {
      if (!res.ok) throw serverError(res.data);
      return res.data;
    });
  }
  function finish(url, cred) {
    return post(url, credentialJSON(cred)).then(function (res) {
      if (!res.ok) throw serverError(res.data);
      return res.data;
    });
  }
  function withNext(url, next) {
    return next ? url + (url.indexOf("?") < 0 ? "?" : "&") + "next=" + encodeURIComponent(next) : url;
  }

  // --- page helpers ---
  function show(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }
  function block(el) {
    return {
      el: el,
      button: el.querySelector("[data-passkey-button]"),
      // The button's hidden wrapper (a hidden attribute on a styled button
      // itself would lose to the stylesheet's display rule).
      actions: el.querySelector("[data-passkey-actions]"),
      error: el.querySelector("[data-passkey-error]"),
      status: el.querySelector("[data-passkey-status]"),
      msg: function (name) { return el.getAttribute("data-msg-" + name) || ""; },
      attr: function (name, def) { return el.getAttribute("data-" + name) || def; }
    };
  }
  // explain turns a failure into a message for the citizen, or "" when
  // there is nothing to say (the citizen or the page aborted the request).
  function explain(b, e) {
    if (!e) return b.msg("failed");
    switch (e.name) {
      case "ServerError": return e.message;
      case "AbortError": return "";
      case "NotAllowedError": return b.msg("cancelled");
      case "InvalidStateError": return b.msg("exists");
      case "NotSupportedError": return b.msg("unsupported");
      default: return b.msg("failed");
    }
  }
  // forget asks the browser to drop a passkey Gosid no longer knows (it
  // was removed in the account), so that autofill stops offering it.
  function forget(e) {
    var d = e && e.data;
    if (!d || d.error !== "unknown_credential" || !d.credential || !PublicKeyCredential.signalUnknownCredential) return;
    PublicKeyCredential.signalUnknownCredential({ rpId: d.rp_id, credentialId: d.credential }).catch(function () {});
  }
  function follow(b, e) {
    forget(e);
    if (e && e.name === "ServerError" && e.data && e.data.redirect) {
      location.assign(e.data.redirect);
      return true;
    }
    return false;
  }

  // --- registration (account page) ---
  document.querySelectorAll("[data-passkey-register]").forEach(function (el) {
    var b = block(el);
    if (!b.button) return;
    b.button.disabled = false;
    b.button.addEventListener("click", function () {
      b.button.disabled = true;
      show(b.error, "");
      show(b.status, b.msg("busy"));
      begin(b.attr("begin", "/passkeys/register/begin")).then(function (opts) {
        return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) });
      }).then(function (cred) {
        return finish(b.attr("finish", "/passkeys/register/finish"), cred);
      }).then(function (data) {
        location.assign(data.redirect || location.pathname);
      }).catch(function (e) {
        b.button.disabled = false;
        show(b.status, "");
        if (!follow(b, e)) show(b.error, explain(b, e));
      });
    });
  });

  // --- a modal assertion (sign-in button, second factor) ---
  function modal(b, before, after) {
    if (b.actions) b.actions.hidden = false;
    b.button.hidden = false;
    b.button.disabled = false;
    b.button.addEventListener("click", function () {
      if (before) before();
      b.button.disabled = true;
      show(b.error, "");
      show(b.status, b.msg("busy"));
      var next = b.attr("next", "");
      begin(b.attr("begin", "/login/passkey/begin")).then(function (opts) {
        return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) });
      }).then(function (cred) {
        return finish(withNext(b.attr("finish", "/login/passkey/finish"), next), cred);
      }).then(function (data) {
        location.assign(data.redirect || "/");
      }).catch(function (e) {
        b.button.disabled = false;
        show(b.status, "");
        if (!follow(b, e)) show(b.error, explain(b, e));
        if (after) after();
      });
    });
  }

  document.querySelectorAll("[data-passkey-assert]").forEach(function (el) {
    var b = block(el);
    if (b.button) modal(b);
  });

  // --- sign-in page: button and autofill ---
  document.querySelectorAll("[data-passkey-login]").forEach(function (el) {
    var b = block(el);
    if (!b.el.hasAttribute("data-next")) {
      var nextInput = document.querySelector('form input[name="next"]');
      if (nextInput && nextInput.value) b.el.setAttribute("data-next", nextInput.value);
    }
    var ctrl = null, timer = null, rounds = 0, autofill = false;
    // A conditional request waits for the citizen to pick a passkey from
    // the login field's autofill. Its challenge lives 5 minutes on the
    // server, so it is renewed every 4, a bounded number of times.
    function stopConditional() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (ctrl) { ctrl.abort(); ctrl = null; }
    }
    function startConditional() {
      if (rounds++ >= 12) return;
      var mine = new AbortController(), stage = "begin";
      ctrl = mine;
      timer = setTimeout(function () { stopConditional(); startConditional(); }, 4 * 60 * 1000);
      begin(b.attr("begin", "/login/passkey/begin")).then(function (opts) {
        if (mine.signal.aborted) throw new DOMException("aborted", "AbortError");
        stage = "get";
        return navigator.credentials.get({ mediation: "conditional", publicKey: requestOptions(opts.publicKey), signal: mine.signal });
      }).then(function (cred) {
        if (timer) { clearTimeout(timer); timer = null; }
        stage = "finish";
        show(b.error, "");
        return finish(withNext(b.attr("finish", "/login/passkey/finish"), b.attr("next", "")), cred);
      }).then(function (data) {
        location.assign(data.redirect || "/");
      }).catch(function (e) {
        if (mine.signal.aborted) return; // replaced or stopped by the page
        if (timer) { clearTimeout(timer); timer = null; }
        // Autofill is an offer in the background: only a passkey the
        // citizen picked and Gosid refused is worth a message, and a fresh
        // request (its challenge is spent) lets them pick again.
        if (stage !== "finish") return;
        if (!follow(b, e)) show(b.error, explain(b, e));
        startConditional();
      });
    }
    function conditional() {
      if (!document.querySelector('input[autocomplete~="webauthn"]')) return;
      var check = PublicKeyCredential.isConditionalMediationAvailable;
      if (!check) return;
      check.call(PublicKeyCredential).then(function (ok) {
        if (ok) { autofill = true; startConditional(); }
      }, function () {});
    }
    if (b.button) modal(b, stopConditional, function () { if (autofill) { rounds = 0; startConditional(); } });
    conditional();
  });
})();
