// The portal's service worker: shows a web push notification and opens
// its page when clicked. The payload is JSON {title, body, url, tag}.
self.addEventListener('push', function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {title: 'Gosid', body: event.data ? event.data.text() : ''}; }
  event.waitUntil(self.registration.showNotification(data.title || 'Gosid', {
    body: data.body || '', tag: data.tag || undefined, icon: '/static/favicon.svg', data: {url: data.url || '/notices'}
  }));
});
self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || '/notices';
  if (new URL(url, self.location.origin).origin !== self.location.origin) { url = '/notices'; }
  event.waitUntil(self.clients.openWindow(url));
});
