// Reloads the check's page when the check's status changes, so that the
// citizen waiting on it sees the outcome without pressing «Обновить».
(function () {
  var page = document.querySelector('[data-check-status]');
  if (!page || page.getAttribute('data-check-status') !== 'pending') return;
  var seen = page.getAttribute('data-check-status') + ':' + page.getAttribute('data-check-waiting');
  function poll() {
    fetch('/account/confirm/check.json', {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j && (j.status + ':' + j.waiting) !== seen) { window.location.reload(); return; }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
