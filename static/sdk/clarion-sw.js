/*
 * Clarion's service worker: shows web push notifications and reports them.
 *
 * Serve a copy from your own origin (a service worker must share the page's
 * origin) and name it in Clarion.init({serviceWorker}). clarion.js registers it as
 *   <serviceWorker>?siteKey=pk_…&clientId=…&apiBase=https://clarion.example.com
 * so it knows whom to report for without the page's storage.
 *
 * The push payload is JSON:
 *   {title, body, icon, image, badge, tag, requireInteraction,
 *    actions: [{action, title, icon, url}],
 *    data: {url, message_id}}
 * Shown with its `tag` (or one made from the message id), a message delivered
 * twice replaces itself instead of showing twice. When shown it reports
 * "viewed"; when clicked, "clicked" (with the button's action), and it opens
 * the deep link: the button's url, else data.url, else the site's start page.
 */
"use strict";

const params = new URL(self.location.href).searchParams;
const SITE_KEY = params.get("siteKey");
const CLIENT_ID = params.get("clientId");
const API_BASE = (params.get("apiBase") || self.location.origin).replace(/\/+$/, "");

// A new version takes over at once; it only shows and reports notifications, so
// there is no page state for it to break.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function report(messageId, kind, action) {
  if (messageId === undefined || messageId === null || !SITE_KEY || !CLIENT_ID) return Promise.resolve();
  const body = { siteKey: SITE_KEY, clientId: CLIENT_ID, message_id: String(messageId), kind: kind };
  if (action) body.action = action;
  return fetch(`${API_BASE}/sdk/v1/engagements`, {
    method: "POST",
    headers: { "Content-Type": "text/plain;charset=UTF-8" }, // no CORS preflight
    body: JSON.stringify(body),
    credentials: "omit",
    mode: "cors",
  }).catch((error) => console.warn("Clarion: could not report", kind, error));
}

// The browser or push service replaced the subscription (keys rotated, expired):
// subscribe again with the same application server key and tell Clarion, or the
// device would go quiet until the person next visits the site.
self.addEventListener("pushsubscriptionchange", (event) => {
  if (!SITE_KEY || !CLIENT_ID) return;
  const options = event.oldSubscription ? event.oldSubscription.options : null;
  const renewed = event.newSubscription
    ? Promise.resolve(event.newSubscription)
    : options
      ? self.registration.pushManager.subscribe(options)
      : Promise.reject(new Error("no earlier subscription options to renew with"));
  event.waitUntil(
    renewed
      .then((subscription) =>
        fetch(`${API_BASE}/sdk/v1/subscriptions`, {
          method: "POST",
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          body: JSON.stringify({ siteKey: SITE_KEY, clientId: CLIENT_ID, subscription: subscription.toJSON() }),
          credentials: "omit",
          mode: "cors",
        }),
      )
      .catch((error) => console.warn("Clarion: could not renew the push subscription", error)),
  );
});

function payloadOf(event) {
  if (!event.data) return {};
  try {
    return event.data.json();
  } catch (error) {
    return { body: event.data.text() };
  }
}

self.addEventListener("push", (event) => {
  const payload = payloadOf(event);
  const data = payload.data || {};
  // A button needs an action and a title, or showNotification throws.
  const actions = (Array.isArray(payload.actions) ? payload.actions : []).filter((a) => a && a.action && a.title);
  const actionUrls = {};
  for (const item of actions) if (item.url) actionUrls[item.action] = item.url;
  const options = {
    body: payload.body || "",
    icon: payload.icon,
    image: payload.image,
    badge: payload.badge,
    tag: payload.tag || (data.message_id !== undefined ? `clarion-${data.message_id}` : undefined),
    requireInteraction: Boolean(payload.requireInteraction),
    actions: actions.map((item) => ({ action: item.action, title: item.title, icon: item.icon })),
    data: { url: data.url, message_id: data.message_id, action_urls: actionUrls },
  };
  // userVisibleOnly: every push must show a notification, so it is shown even
  // when the payload has no title.
  const shown = self.registration
    .showNotification(payload.title || "", options)
    .then(() => report(data.message_id, "viewed"));
  event.waitUntil(shown);
});

async function openOrFocus(url) {
  const target = new URL(url || "./", self.registration.scope).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => client.url === target);
  if (open) return open.focus();
  return self.clients.openWindow(target);
}

self.addEventListener("notificationclick", (event) => {
  const notification = event.notification;
  const data = notification.data || {};
  notification.close();
  const url = (event.action && data.action_urls && data.action_urls[event.action]) || data.url;
  // Opening the window first: browsers allow it only shortly after the click.
  event.waitUntil(Promise.all([openOrFocus(url), report(data.message_id, "clicked", event.action)]));
});
