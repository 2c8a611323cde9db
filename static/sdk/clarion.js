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
 * Plain JavaScript (ES2018: async functions, object spread), no dependencies,
 * no build step.
 */
(function (global) {
  "use strict";

  const STORAGE_KEY = "clarion.clientId";
  const PAGE_COUNT_KEY = "clarion.pageCount";
  const scriptOrigin = document.currentScript ? new URL(document.currentScript.src, location.href).origin : location.origin;
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


  function countPage() {
    // Pages seen in this visit: sessionStorage lasts as long as the tab.
    try {
      const count = (parseInt(sessionStorage.getItem(PAGE_COUNT_KEY), 10) || 0) + 1;
      sessionStorage.setItem(PAGE_COUNT_KEY, String(count));
      return count;
    } catch (e) {
      return 1;
    }
  }

  function namedFunction(path) {
    // A dotted path on window, walked one own name at a time: never eval.
    let owner = null;
    let value = global;
    for (const name of String(path).split(".")) {
      if (!/^[A-Za-z_$][\w$]*$/.test(name) || value == null || !Object.prototype.hasOwnProperty.call(value, name)) {
        return null;
      }
      owner = value;
      value = value[name];
    }
    return typeof value === "function" ? (...args) => value.apply(owner, args) : null;
  }

  function element(tag, style, text) {
    const node = document.createElement(tag);
    Object.assign(node.style, style);
    if (text) node.textContent = text;
    return node;
  }

  function kebab(name) {
    return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  }

  function declarations(style, important) {
    const suffix = important ? " !important" : "";
    return Object.keys(style).map((name) => `${kebab(name)}:${style[name]}${suffix}`).join(";");
  }

  // What every SDK host starts from, whatever the site's style sheets say of it
  // (`* {display: none !important}`, `html {font-size: 0}`, `body {transform: ...}`):
  // all properties back to their initial values, then shown.
  const HOST_BASE = { all: "initial", display: "block" };

  function shadowHost(styles, options) {
    // An element of the SDK's own (appended to <html>, so a transform or
    // display:none on <body> does not reach it) with a shadow root holding the
    // SDK's styles: the site's selectors do not match inside it, and the host
    // resets what it would inherit. `styles` maps ":host" and class selectors,
    // optionally with a pseudo-class (".button:focus-visible"), to style
    // properties (camelCase; px, not rem: the site may shrink the root font).
    // The Content-Security-Policy of a site may refuse <style> and style=""
    // ('unsafe-inline'); neither is used. The rules go in a constructable style
    // sheet (adoptedStyleSheets), or, where a browser has none, onto the
    // elements themselves through their style properties (CSSOM, which CSP
    // allows), without the pseudo-class rules.
    // Returns {host, root, add(tag, classNames, text), remove()}: add() makes an
    // element with those classes (space separated) and text (textContent: never
    // markup); put it into root or into another added element.
    options = options || {};
    styles = styles || {};
    const host = document.createElement(options.tag || "clarion-layer");
    const hostStyle = { ...HOST_BASE, ...(styles[":host"] || {}) };
    for (const name of Object.keys(hostStyle)) host.style.setProperty(kebab(name), hostStyle[name], "important");
    const root = host.attachShadow ? host.attachShadow({ mode: options.mode === "closed" ? "closed" : "open" }) : host;
    let sheet = null;
    if (root !== host && "adoptedStyleSheets" in root && global.CSSStyleSheet) {
      try {
        sheet = new CSSStyleSheet();
        const rules = Object.keys(styles).map((selector) =>
          `${selector}{${declarations(styles[selector], selector === ":host")}}`);
        sheet.replaceSync(rules.join("\n"));
        root.adoptedStyleSheets = [sheet];
      } catch (e) {
        sheet = null; // an older engine: the elements' own style properties below
      }
    }
    function add(tag, classNames, text) {
      const names = String(classNames || "").split(/\s+/).filter(Boolean);
      const node = element(tag, {}, text);
      if (names.length) node.className = names.join(" ");
      if (!sheet) for (const name of names) Object.assign(node.style, styles[`.${name}`] || {});
      return node;
    }
    (document.documentElement || document.body).append(host);
    return { host: host, root: root, add: add, remove: () => host.remove() };
  }

  // Web Exit Intent pop-ups: at most one shown per page. `popupState.pending` is
  // the pop-up Clarion's latest answer gave this page (shown on exit intent).
  const POPUP_REASK_MS = 2000; // re-asks after track()/identify(): at most one per 2 s
  // Touch exit intent: a scroll back up of at least FAST_SCROLL_PX CSS pixels at
  // FAST_SCROLL_SPEED px/ms (1,000 px/s) or faster, between two scroll events at
  // most FAST_SCROLL_WINDOW_MS apart, as when a reader flicks back to the address bar.
  const FAST_SCROLL_PX = 100;
  const FAST_SCROLL_SPEED = 1;
  const FAST_SCROLL_WINDOW_MS = 300;
  const popupState = { on: false, asked: false, pageCount: 1, pending: null, shown: false, lastAsk: 0, timer: null };
  const FOCUS_RING = { outline: "3px solid #174f78", outlineOffset: "2px" };
  const POPUP_STYLES = {
    ":host": { position: "fixed", top: "0", left: "0", width: "100%", height: "100%", zIndex: "2147483647" },
    ".backdrop": {
      position: "absolute", top: "0", left: "0", right: "0", bottom: "0", background: "rgba(0,0,0,.35)",
      display: "flex", alignItems: "center", justifyContent: "center", font: "16px/1.4 system-ui, sans-serif",
    },
    ".dialog": {
      display: "block", boxSizing: "border-box", position: "relative", background: "#fff", color: "#1d2733",
      borderRadius: "8px", padding: "20px", width: "calc(100% - 40px)", maxWidth: "360px",
      maxHeight: "calc(100% - 40px)", overflow: "auto", boxShadow: "0 8px 30px rgba(0,0,0,.3)", textAlign: "left",
    },
    ".close": {
      position: "absolute", top: "6px", right: "8px", border: "0", borderRadius: "4px", padding: "2px 8px",
      background: "none", color: "#1d2733", font: "24px/1 sans-serif", cursor: "pointer",
    },
    ".image": { display: "block", maxWidth: "100%", margin: "0 0 10px" },
    ".title": { display: "block", margin: "0 28px 8px 0", font: "bold 20px/1.3 system-ui, sans-serif" },
    ".body": { display: "block", margin: "0 0 12px" },
    ".action": {
      display: "inline-block", border: "0", borderRadius: "4px", padding: "8px 16px", background: "#174f78",
      color: "#fff", font: "16px/1.4 system-ui, sans-serif", cursor: "pointer",
    },
    ".close:focus-visible": FOCUS_RING,
    ".action:focus-visible": FOCUS_RING,
  };

  function reportPopup(popup, event) {
    // shown / clicked / closed, once each per pop-up (the server also keeps the first only).
    if (!popup.message || popup.reported[event]) return;
    popup.reported[event] = true;
    post("popups/report", { message: String(popup.message), event: event }).catch(() => {});
  }

  function showPopup(popup) {
    popupState.shown = true;
    popup.reported = {};
    const previous = document.activeElement;
    const layer = shadowHost(POPUP_STYLES);
    const backdrop = layer.add("div", "backdrop");
    const dialog = layer.add("div", "dialog");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    const close = layer.add("button", "close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    dialog.append(close);
    if (popup.image) {
      const image = layer.add("img", "image");
      image.src = popup.image;
      image.alt = "";
      dialog.append(image);
    }
    if (popup.title) {
      const title = layer.add("h2", "title", popup.title);
      title.id = "clarion-popup-title"; // ids are scoped to the shadow root
      dialog.setAttribute("aria-labelledby", title.id);
      dialog.append(title);
    } else {
      dialog.setAttribute("aria-label", popup.button_text || "Message");
    }
    if (popup.body) {
      const body = layer.add("p", "body", popup.body);
      body.id = "clarion-popup-body";
      dialog.setAttribute("aria-describedby", body.id);
      dialog.append(body);
    }
    let action = null;
    if (popup.button_text) {
      action = layer.add("button", "action", popup.button_text);
      action.type = "button";
      dialog.append(action);
    }
    const focusable = [close, action].filter(Boolean);

    function focused() {
      return layer.root === layer.host ? document.activeElement : layer.root.activeElement;
    }
    function onKey(event) {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        dismiss("closed");
      } else if (event.key === "Tab") {
        // Focus stays in the dialog: Tab after the last control goes to the first.
        const at = focusable.indexOf(focused());
        const next = event.shiftKey ? (at <= 0 ? focusable.length - 1 : at - 1) : (at + 1) % focusable.length;
        event.preventDefault();
        focusable[next].focus();
      }
    }
    function onFocusIn(event) {
      // Focus that got outside (a click on the page's own frame, a script) comes back.
      if (event.target !== layer.host && !layer.host.contains(event.target)) focusable[0].focus();
    }
    function dismiss(event) {
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("focusin", onFocusIn, true);
      layer.remove();
      if (event) reportPopup(popup, event);
      if (previous && previous.isConnected && previous.focus) previous.focus();
    }
    close.addEventListener("click", () => dismiss("closed"));
    backdrop.addEventListener("click", (event) => {
      if (event.target === backdrop) dismiss("closed");
    });
    if (action) {
      action.addEventListener("click", () => {
        reportPopup(popup, "clicked");
        dismiss(null);
        if (popup.click_action === "link" && /^https?:\/\//i.test(popup.click_url)) {
          global.open(popup.click_url, "_blank", "noopener");
        } else if (popup.click_action === "js") {
          const call = namedFunction(popup.js_function);
          if (call) call(popup.campaign);
          else console.warn(`Clarion: the pop-up's function ${popup.js_function} is not on this page`);
        }
      });
    }
    backdrop.append(dialog);
    layer.root.append(backdrop);
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("focusin", onFocusIn, true);
    (action || close).focus();
    reportPopup(popup, "shown");
  }

  function exitIntent() {
    if (popupState.shown || !popupState.pending) return;
    showPopup(popupState.pending);
  }

  function watchFastScrollUp() {
    let samples = [];
    global.addEventListener("scroll", () => {
      const now = Date.now();
      const y = global.scrollY;
      samples = samples.filter((sample) => now - sample.time <= FAST_SCROLL_WINDOW_MS);
      for (const sample of samples) {
        const up = sample.y - y;
        if (up >= FAST_SCROLL_PX && up / Math.max(now - sample.time, 1) >= FAST_SCROLL_SPEED) {
          samples = [];
          exitIntent();
          return;
        }
      }
      samples.push({ time: now, y: y });
    }, { passive: true });
  }

  function watchBackButton() {
    // Opt-in (init({popups: {backButton: true}})): once the visitor has tapped or typed
    // (browsers skip history entries a page adds before that) and a pop-up is due,
    // one entry for this same address is added; Back then returns to this page's own
    // entry and shows the pop-up. If none is due any more, the Back goes on.
    let armed = false;
    function arm(event) {
      if (armed || popupState.shown || !popupState.pending) return;
      // Not on the way out through a link or a form: the entry would make Back stop twice.
      const target = event.target;
      if (target && target.closest && target.closest("a[href], form")) return;
      armed = true;
      history.pushState({ clarionExitIntent: true }, "", location.href);
    }
    global.addEventListener("pointerdown", arm, true);
    global.addEventListener("keydown", arm, true);
    global.addEventListener("popstate", (event) => {
      if (!armed || (event.state && event.state.clarionExitIntent)) return;
      armed = false;
      if (popupState.shown || !popupState.pending) history.back();
      else exitIntent();
    });
  }

  function watchExitIntent(options) {
    // Desktop: the pointer leaves the page through its top edge (towards the tabs).
    document.addEventListener("mouseout", (event) => {
      if (event.relatedTarget === null && event.clientY <= 0) exitIntent();
    });
    // Touch screens (a coarse primary pointer) have no pointer to leave with.
    if (global.matchMedia && global.matchMedia("(pointer: coarse)").matches) watchFastScrollUp();
    if (options.backButton) watchBackButton();
  }

  function askForPopups() {
    popupState.asked = true;
    popupState.lastAsk = Date.now();
    const fields = { url: location.href, referrer: document.referrer || "", pageCount: popupState.pageCount };
    post("popups", fields).then((answer) => {
      if (!popupState.shown) popupState.pending = (answer.popups || [])[0] || null;
    }, () => {});
  }

  function askForPopupsSoon() {
    // After a track() or identify() resolves: what the page just did may make a pop-up
    // due on this very page (an abandoned cart). At most one ask per POPUP_REASK_MS,
    // the last of a burst included. Before the first ask (at load) there is nothing to
    // do: that ask is queued after this request.
    if (!popupState.on || !popupState.asked || popupState.shown || popupState.timer) return;
    const wait = Math.max(0, popupState.lastAsk + POPUP_REASK_MS - Date.now());
    popupState.timer = setTimeout(() => {
      popupState.timer = null;
      askForPopups();
    }, wait);
  }

  function afterwardsAskForPopups(result) {
    result.then(askForPopupsSoon, () => {});
    return result;
  }

  function startPopups(options) {
    if (popupState.on) return;
    popupState.on = true;
    popupState.pageCount = countPage();
    watchExitIntent(options);
    if (document.readyState === "complete") askForPopups();
    else global.addEventListener("load", askForPopups, { once: true });
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

  // Soft onboarding (init({onboarding: true}), seed 002): a running "Push permission
  // request" campaign's banner, asked for only while this browser can take push and has
  // not been asked yet (Notification.permission "default"). Not modal: it slides in at
  // the top of the page and the page stays usable. Subscribe opens the browser's own
  // prompt through requestPush() with the ticked categories; Maybe later, or Escape,
  // puts it away (Clarion keeps "later" for the campaign's days, server-side).
  const ONBOARDING_STYLES = {
    ":host": { position: "fixed", top: "0", left: "0", right: "0", width: "100%", zIndex: "2147483646" },
    ".banner": {
      display: "flex", flexWrap: "wrap", alignItems: "center", gap: "12px", boxSizing: "border-box",
      margin: "0 auto", maxWidth: "720px", padding: "14px 18px", background: "#fff", color: "#1d2733",
      borderRadius: "0 0 8px 8px", boxShadow: "0 6px 24px rgba(0,0,0,.25)", font: "15px/1.4 system-ui, sans-serif",
      transform: "translateY(-110%)", transition: "transform .3s ease-out", textAlign: "left",
    },
    ".image": { display: "block", width: "56px", height: "56px", objectFit: "contain" },
    ".text": { display: "block", flex: "1 1 260px" },
    ".title": { display: "block", margin: "0 0 4px", font: "bold 17px/1.3 system-ui, sans-serif" },
    ".body": { display: "block", margin: "0" },
    ".choices": { display: "flex", flexWrap: "wrap", gap: "4px 14px", margin: "8px 0 0", padding: "0", border: "0" },
    ".legend": { display: "block", padding: "0", margin: "0 0 2px", font: "bold 14px/1.3 system-ui, sans-serif" },
    ".choice": { display: "inline-flex", alignItems: "center", gap: "4px", cursor: "pointer" },
    ".buttons": { display: "flex", gap: "8px", flexWrap: "wrap" },
    ".subscribe": {
      display: "inline-block", border: "0", borderRadius: "4px", padding: "8px 16px", background: "#174f78",
      color: "#fff", font: "15px/1.4 system-ui, sans-serif", cursor: "pointer",
    },
    ".later": {
      display: "inline-block", border: "1px solid #174f78", borderRadius: "4px", padding: "7px 14px",
      background: "#fff", color: "#174f78", font: "15px/1.4 system-ui, sans-serif", cursor: "pointer",
    },
    ".subscribe:focus-visible": { outline: "3px solid #174f78", outlineOffset: "2px" },
    ".later:focus-visible": { outline: "3px solid #174f78", outlineOffset: "2px" },
    ".box:focus-visible": { outline: "3px solid #174f78", outlineOffset: "2px" },
  };
  const onboardingState = { on: false, shown: false };

  function reportOnboarding(prompt, event) {
    // shown / subscribed / blocked / later, once each (Clarion keeps the first only too).
    if (prompt.reported[event]) return Promise.resolve();
    prompt.reported[event] = true;
    return post("onboarding/report", { prompt: String(prompt.prompt), event: event }).catch(() => {});
  }

  function showOnboarding(prompt) {
    onboardingState.shown = true;
    prompt.reported = {};
    const layer = shadowHost(ONBOARDING_STYLES);
    // First in the document, so it is also first in the keyboard's order, as it is on screen.
    document.documentElement.prepend(layer.host);
    const banner = layer.add("div", "banner");
    banner.setAttribute("role", "dialog"); // a non-modal dialog (no aria-modal): the page stays usable
    banner.setAttribute("aria-labelledby", "clarion-onboarding-title");
    if (prompt.image) {
      const image = layer.add("img", "image");
      image.src = prompt.image;
      image.alt = "";
      banner.append(image);
    }
    const text = layer.add("div", "text");
    const title = layer.add("h2", "title", prompt.title || prompt.subscribe_text || "Notifications");
    title.id = "clarion-onboarding-title";
    text.append(title);
    if (prompt.body) {
      const body = layer.add("p", "body", prompt.body);
      body.id = "clarion-onboarding-body";
      banner.setAttribute("aria-describedby", body.id);
      text.append(body);
    }
    const boxes = [];
    if ((prompt.categories || []).length) {
      const choices = layer.add("fieldset", "choices");
      choices.append(layer.add("legend", "legend", "Topics"));
      for (const category of prompt.categories) {
        const label = layer.add("label", "choice");
        const box = layer.add("input", "box");
        box.type = "checkbox";
        box.value = String(category.name);
        label.append(box, document.createTextNode(String(category.label || category.name)));
        choices.append(label);
        boxes.push(box);
      }
      text.append(choices);
    }
    banner.append(text);
    const buttons = layer.add("div", "buttons");
    const subscribe = layer.add("button", "subscribe", prompt.subscribe_text || "Subscribe");
    subscribe.type = "button";
    const later = layer.add("button", "later", prompt.later_text || "Maybe later");
    later.type = "button";
    buttons.append(subscribe, later);
    banner.append(buttons);

    function onKey(event) {
      if (event.key === "Escape" && !event.defaultPrevented) close();
    }
    function close() {
      document.removeEventListener("keydown", onKey, true);
      layer.remove();
    }
    subscribe.addEventListener("click", () => {
      const categories = boxes.filter((box) => box.checked).map((box) => box.value);
      close();
      // Called in the click itself: browsers show their prompt only for a gesture.
      Clarion.requestPush({ categories: categories }).then((status) => {
        if (status === "allowed") return reportOnboarding(prompt, "subscribed");
        if (status === "blocked") return reportOnboarding(prompt, "blocked");
        return null; // the browser's prompt was dismissed: still Ask
      }, () => {});
    });
    later.addEventListener("click", () => {
      close();
      reportOnboarding(prompt, "later");
    });
    layer.root.append(banner);
    document.addEventListener("keydown", onKey, true);
    const still = global.matchMedia && global.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (still) banner.style.transition = "none";
    // Slides down from above the page once drawn (a style property: CSP allows it).
    global.requestAnimationFrame(() => global.requestAnimationFrame(() => { banner.style.transform = "translateY(0)"; }));
    reportOnboarding(prompt, "shown");
  }

  function askForOnboarding() {
    if (onboardingState.shown || currentStatus() !== "ask" || !config.vapidPublicKey) return;
    post("onboarding", { status: "ask" }).then((answer) => {
      if (answer.prompt && !onboardingState.shown && currentStatus() === "ask") showOnboarding(answer.prompt);
    }, () => {});
  }

  function startOnboarding() {
    if (onboardingState.on) return;
    onboardingState.on = true;
    if (document.readyState === "complete") askForOnboarding();
    else global.addEventListener("load", askForOnboarding, { once: true });
  }

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
      if (options.popups) startPopups(typeof options.popups === "object" ? options.popups : {});
      if (options.onboarding) startOnboarding();
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
