/*
 * Clarion web SDK: identify people, track what they do, and ask for web push.
 *
 * Load it and start it once per page:
 *
 *   <script src="https://clarion.example.com/static/sdk/clarion.js"></script>
 *   <script>
 *     Clarion.init({
 *       siteKey: "pk_…",                 // Settings → Sites; public, checked against your origin
 *       vapidPublicKey: "BN…",           // Settings → Web push (base64url)
 *       serviceWorker: "/clarion-sw.js", // a copy of clarion-sw.js served from YOUR origin
 *       apiBase: "https://clarion.example.com", // optional: defaults to where this file came from
 *       popups: true,                    // optional: show Web Exit Intent pop-ups (default false)
 *       onboarding: true,                // optional: show the push permission banner (default false)
 *     });
 *     Clarion.pushStatus();              // report the permission status of this session
 *   </script>
 *
 * Every method returns a Promise and sends its requests in the order called.
 * A refused request is logged with console.warn and rejects with the reason.
 *
 *   Clarion.init(options)             -> Clarion (sync)
 *   Clarion.identify(identity, fields) -> Promise<{push_status}>
 *       The person on this browser is `identity` (your own id). `fields` are
 *       optional profile fields, as in the JSON API: name, email, phone, gender,
 *       country, city, timezone, language, ..., and `properties` for custom ones:
 *         Clarion.identify("u-42", {name: "Ada", properties: {customer_type: "Gold"}})
 *       Identifying as someone else moves this browser's subscription to them.
 *   Clarion.identify(identity, fields, {identityHash})
 *       Pass the hex HMAC-SHA256 of the identity that YOUR SERVER computed with
 *       the site's identity secret (Settings → Websites); the secret never goes
 *       to the browser. Sites verify identities unless an Admin turned it off,
 *       and even then an identify() without the hash is refused (403) for a
 *       person Clarion already knows: it may only create a new one.
 *   Clarion.track(name, properties)   -> Promise
 *       An event, e.g. Clarion.track("Added To Cart", {sku: "A1", price: 12.5}).
 *   Clarion.pushStatus()              -> Promise<"ask" | "allowed" | "blocked" | "unsupported">
 *       What the browser says of push permission; also reported to Clarion.
 *   Clarion.requestPush({categories}) -> Promise<"ask" | "allowed" | "blocked" | "unsupported">
 *       Asks for permission (call it from a click: browsers ignore prompts that
 *       no gesture started), registers the service worker, subscribes with the
 *       VAPID key and sends the subscription with the chosen categories.
 *   Clarion.inbox({limit, offset})    -> Promise<{items, unread, total}>
 *       The App Inbox of the person identify() named (with its identityHash: the
 *       inbox answers only a browser identified with the hash), newest first,
 *       20 a page (at most 50). Each item: {id, title, body, url, title_color,
 *       body_color, background_color, tags, created_at, expires_at, read, read_at};
 *       title and body are plain text: show them with textContent, never innerHTML.
 *       Expired or deleted items are not listed.
 *   Clarion.inbox.read(id)            -> Promise<item>: the person opened it (an inbox view in the stats).
 *   Clarion.inbox.remove(id)          -> Promise<{deleted: true}>: gone from their inbox.
 *   Clarion.clientId()                -> string: this browser's id, kept in localStorage.
 *   Clarion.detectBrowser(userAgent)  -> "chrome" | "firefox" | "safari" | "edge" | "opera" | "kaios" | ""
 *
 * Web Exit Intent pop-ups (init({popups: true})): once the page has loaded, the SDK
 * asks Clarion for the pop-up of this page (its address, referrer and how many pages
 * this visit has seen), and asks again after each identify() or track() resolves (at
 * most once per 2 s), so a pop-up whose trigger just happened (an "Added To Cart")
 * can show on this same page. It shows on exit intent, at most once per page: the
 * mouse leaves the page through the top; on touch screens, a fast scroll back up
 * (100 CSS px or more at 1,000 px/s or faster); and, with init({popups:
 * {backButton: true}}), the Back button (after the visitor's first tap or key, one
 * history entry for the same address is added, and Back shows the pop-up instead of
 * leaving). It is a modal dialog in the SDK's own shadow root, so the site's CSS
 * does not reach it, and it needs no 'unsafe-inline' in the site's CSP: labelled by
 * its title, focus moved into it and kept there, Escape, its close button or a
 * click beside it closes it and focus goes back where it was. Its text is always
 * plain text. Its button closes it, opens the campaign's http(s) link in a new tab,
 * or calls a function of your page named in the campaign, e.g. "shop.openCoupon"
 * for window.shop.openCoupon(campaignId), if that exists and is a function.
 * The SDK reports it shown, clicked (its button) and closed, once each, with the
 * message id Clarion gave it (POST /sdk/v1/popups/report): the campaign's stats
 * count them.
 *
 * Soft onboarding (init({onboarding: true})): once the page has loaded, a browser
 * that can take push and has not been asked yet (permission "default", status Ask)
 * asks Clarion for a running "Push permission request" campaign's banner (POST
 * /sdk/v1/onboarding; needs vapidPublicKey). None comes for Allowed or Blocked, nor
 * for the campaign's days after "Maybe later". The banner is not modal: it slides in
 * at the top of the page, in the SDK's shadow root, first in the keyboard order, as a
 * dialog labelled by its title; its text is plain text. It may list categories to
 * tick. Subscribe calls requestPush({categories: the ticked ones}) from the click, so
 * the browser shows its own prompt; Allowed stores the subscription and the categories
 * on this browser's device (segments: "subscribed to category X"). Maybe later hides
 * it; Escape puts it away without an answer (not asked again for a day). The SDK
 * reports shown, subscribed, blocked and later once each (POST
 * /sdk/v1/onboarding/report): the campaign's page counts them.
 *
 * The pop-ups' and the banner's code is in clarion-onsite.js, which this file
 * fetches from beside itself only for a page whose init() turns them on (the same
 * origin as clarion.js, so a Content-Security-Policy that lets clarion.js run lets
 * it run too); pages without them never download it.
 *
 * Plain JavaScript (ES2018: async functions, object spread), no dependencies,
 * no build step.
 */
(function (global) {
  "use strict";

  const STORAGE_KEY = "clarion.clientId";
  const scriptOrigin = document.currentScript ? new URL(document.currentScript.src, location.href).origin : location.origin;
  // Where this file came from: clarion-onsite.js is loaded from beside it.
  const scriptDir = document.currentScript ? new URL(".", new URL(document.currentScript.src, location.href)).href : "";
  let config = null;
  let memoryClientId = null;
  let queue = Promise.resolve();

  function detectBrowser(ua) {
    // Order matters: Edge and Opera also say "Chrome", KaiOS says "Firefox",
    // and every Chromium browser says "Safari".
    if (/KAIOS/i.test(ua)) return "kaios";
    if (/\bEdg(e|A|iOS)?\//.test(ua)) return "edge";
    if (/\b(OPR|OPT|Opera)\//.test(ua)) return "opera";
    if (/\b(Firefox|FxiOS)\//.test(ua)) return "firefox";
    if (/(Chrome|CriOS|Chromium)\//.test(ua)) return "chrome"; // also HeadlessChrome/
    if (/\bSafari\//.test(ua)) return "safari";
    return "";
  }

  function newId() {
    if (global.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function clientId() {
    // localStorage can be missing or throw (storage disabled, some private modes):
    // then the id lasts as long as the page.
    try {
      let id = localStorage.getItem(STORAGE_KEY);
      if (!id) {
        id = newId();
        localStorage.setItem(STORAGE_KEY, id);
      }
      return id;
    } catch (e) {
      memoryClientId = memoryClientId || newId();
      return memoryClientId;
    }
  }

  function started() {
    if (!config) throw new Error("Clarion: call Clarion.init({siteKey, ...}) first");
    return config;
  }

  async function send(path, fields) {
    const body = { siteKey: config.siteKey, clientId: clientId(), browser: config.browser, ...fields };
    const response = await fetch(`${config.apiBase}/sdk/v1/${path}`, {
      method: "POST",
      // text/plain is a "simple" content type: no CORS preflight round trip.
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify(body),
      credentials: "omit",
      mode: "cors",
      keepalive: true, // a track() just before the page unloads still arrives
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const errors = (answer.errors || []).map((e) => `${e.field}: ${e.reason}`);
      const reason = [answer.detail || `HTTP ${response.status}`, ...errors].join("; ");
      console.warn(`Clarion: ${path} was refused: ${reason}`);
      throw new Error(reason);
    }
    return answer;
  }

  function post(path, fields) {
    // One request at a time, in call order: track() after identify() lands on the
    // identified profile, and the server never sees one browser's first requests
    // race each other.
    started();
    const result = queue.then(() => send(path, fields));
    queue = result.catch(() => {});
    return result;
  }

  function supported() {
    return (
      global.isSecureContext !== false &&
      "Notification" in global &&
      "serviceWorker" in navigator &&
      "PushManager" in global
    );
  }

  function currentStatus() {
    if (!supported()) return "unsupported";
    if (Notification.permission === "granted") return "allowed";
    if (Notification.permission === "denied") return "blocked";
    return "ask";
  }

  function askPermission() {
    // Older Safari takes a callback and returns undefined instead of a Promise.
    return new Promise((resolve) => {
      const promise = Notification.requestPermission(resolve);
      if (promise) promise.then(resolve);
    });
  }

  function base64UrlToBytes(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(padded);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameBytes(buffer, bytes) {
    if (!buffer) return false;
    const other = new Uint8Array(buffer);
    return other.length === bytes.length && other.every((b, i) => b === bytes[i]);
  }

  function workerUrl() {
    // The worker learns who it reports for from its own URL: it has no access to
    // this page's localStorage.
    const url = new URL(config.serviceWorker, location.href);
    url.searchParams.set("siteKey", config.siteKey);
    url.searchParams.set("clientId", clientId());
    url.searchParams.set("apiBase", config.apiBase);
    return url.href;
  }

  function activated(registration) {
    // PushManager.subscribe needs an active worker (Push API, section 3.3).
    if (registration.active) return Promise.resolve(registration);
    const worker = registration.installing || registration.waiting;
    return new Promise((resolve, reject) => {
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated") resolve(registration);
        if (worker.state === "redundant") reject(new Error("Clarion: the service worker did not install"));
      });
    });
  }

  async function subscribe() {
    const key = base64UrlToBytes(config.vapidPublicKey);
    const registration = await activated(await navigator.serviceWorker.register(workerUrl()));
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options && subscription.options.applicationServerKey, key)) {
      // Made with an earlier VAPID key: push services refuse our messages for it,
      // and subscribe() with a new key fails while it exists.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    return subscription;
  }



  // On-site messages (Web Exit Intent pop-ups, soft onboarding) are in clarion-onsite.js,
  // beside this file, fetched only by a page whose init() turns one of them on.
  let onsite = null;

  function loadOnsite() {
    if (onsite) return onsite;
    onsite = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = `${scriptDir || `${config.apiBase}/static/sdk/`}clarion-onsite.js`;
      script.async = true;
      script.onload = () => {
        const factory = global.ClarionOnsite;
        delete global.ClarionOnsite;
        if (typeof factory !== "function") return reject(new Error(`Clarion: ${script.src} did not load`));
        const sdk = { post: post, config: () => config, currentStatus: currentStatus, requestPush: Clarion.requestPush };
        resolve(factory(sdk));
      };
      script.onerror = () => reject(new Error(`Clarion: ${script.src} did not load`));
      document.head.append(script);
    });
    onsite.catch((error) => console.warn(error.message));
    return onsite;
  }

  function afterwardsAskForPopups(result) {
    // What the page just did may make a pop-up due on this very page (an abandoned cart).
    if (onsite) result.then(() => onsite.then((part) => part.pageChanged()), () => {}).catch(() => {});
    return result;
  }

  // App Inbox (Clarion.inbox()): the identified person's own inbox. Clarion answers only a
  // browser identify() linked to that person, with the identity's hash from your server;
  // titles and messages are plain text, to be shown with textContent, never innerHTML.
  let inboxOwner = null;

  function inboxBody(fields) {
    if (!inboxOwner || !inboxOwner.identityHash) {
      return Promise.reject(new Error("Clarion.inbox needs identify(identity, fields, {identityHash}) first"));
    }
    return Promise.resolve({ identity: inboxOwner.identity, identityHash: inboxOwner.identityHash, ...fields });
  }

  function inbox(options) {
    const page = {};
    if (options && options.limit != null) page.limit = Number(options.limit);
    if (options && options.offset != null) page.offset = Number(options.offset);
    return inboxBody(page).then((body) => post("inbox", body));
  }

  inbox.read = function (id) {
    return inboxBody({ id: Number(id) }).then((body) => post("inbox/read", body));
  };

  inbox.remove = function (id) {
    return inboxBody({ id: Number(id) }).then((body) => post("inbox/delete", body));
  };

  const Clarion = {
    init: function (options) {
      options = options || {};
      if (!options.siteKey) throw new Error("Clarion.init needs a siteKey");
      config = {
        siteKey: options.siteKey,
        vapidPublicKey: options.vapidPublicKey || "",
        serviceWorker: options.serviceWorker || "/clarion-sw.js",
        apiBase: (options.apiBase || scriptOrigin).replace(/\/+$/, ""),
        browser: detectBrowser(navigator.userAgent),
      };
      if (options.popups || options.onboarding) {
        loadOnsite().then((part) => {
          if (options.popups) part.startPopups(typeof options.popups === "object" ? options.popups : {});
          if (options.onboarding) part.startOnboarding();
        }, () => {});
      }
      return Clarion;
    },

    identify: function (identity, fields, options) {
      const body = { identity: String(identity) };
      if (fields) body.profile = fields;
      if (options && options.identityHash) body.identityHash = String(options.identityHash);
      inboxOwner = { identity: body.identity, identityHash: body.identityHash || "" }; // Clarion.inbox()
      return afterwardsAskForPopups(post("identify", body));
    },

    track: function (name, properties) {
      return afterwardsAskForPopups(post("events", { name: name, properties: properties || {} }));
    },

    pushStatus: async function () {
      started();
      const status = currentStatus();
      await post("status", { status: status });
      return status;
    },

    requestPush: async function (options) {
      started();
      const categories = (options && options.categories) || [];
      if (!supported()) {
        await post("status", { status: "unsupported" });
        return "unsupported";
      }
      if (!config.vapidPublicKey) throw new Error("Clarion.requestPush needs init({vapidPublicKey})");
      const permission = Notification.permission === "default" ? await askPermission() : Notification.permission;
      if (permission !== "granted") {
        const status = permission === "denied" ? "blocked" : "ask";
        await post("status", { status: status });
        return status;
      }
      const subscription = await subscribe();
      await post("subscriptions", { subscription: subscription.toJSON(), categories: categories });
      return "allowed";
    },

    clientId: clientId,
    detectBrowser: detectBrowser,
    inbox: inbox,
  };

  global.Clarion = Clarion;
})(window);
