/*! journeys-sw.js: the web push service worker of saleor-journeys (BSD-3-Clause).
 * Serve it from the storefront's own origin (a service worker cannot come from another one),
 * e.g. at /journeys-sw.js, and name it in the snippet's tag: data-sw="/journeys-sw.js".
 * A storefront with a service worker of its own adds importScripts('/journeys-sw.js') to it
 * instead. Payload: {"title", "body", "url", "icon", "tag"}. */
'use strict';

const httpUrl = (value) => {
  try {
    const url = typeof value === 'string' && value && new URL(value, self.location.origin);
    return url && /^https?:$/.test(url.protocol) ? url.href : undefined;
  } catch (e) {
    return undefined;
  }
};

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data.text() };
  }
  const options = {
    body: typeof data.body === 'string' ? data.body : '',
    icon: httpUrl(data.icon),
    data: { url: httpUrl(data.url) },
  };
  // A tag replaces an earlier notification with the same tag instead of stacking up.
  if (typeof data.tag === 'string' && data.tag) options.tag = data.tag;
  const title = typeof data.title === 'string' && data.title ? data.title : self.location.host;
  // Always show one: a push without a notification is what browsers penalise.
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data && event.notification.data.url;
  if (!url) return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === url && 'focus' in client);
      return open ? open.focus() : self.clients.openWindow(url);
    })
  );
});
