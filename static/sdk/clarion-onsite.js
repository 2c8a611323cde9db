/*
 * Clarion web SDK, on-site messages: Web Exit Intent pop-ups and the soft-onboarding
 * banner (what they do for a page and its visitors is documented at the top of
 * clarion.js). clarion.js loads this file from beside itself, and only on a page
 * whose Clarion.init() turns one of them on ({popups: ...} or {onboarding: true}):
 * a site includes clarion.js alone, and pages without either never fetch this.
 *
 * It registers one factory, window.ClarionOnsite(sdk), which clarion.js calls once
 * (and removes) with what this part uses of it:
 *   sdk.post(path, fields)     a request to /sdk/v1/<path> in clarion.js's queue
 *   sdk.config()               the options init() set ({vapidPublicKey, ...})
 *   sdk.currentStatus()        "ask" | "allowed" | "blocked" | "unsupported"
 *   sdk.requestPush(options)   Clarion.requestPush
 * and it answers {startPopups(options), startOnboarding(), pageChanged()}:
 * pageChanged() after a track() or identify() resolved (a pop-up may be due now).
 *
 * Plain JavaScript (ES2018), no dependencies, no build step, as clarion.js.
 */
(function (global) {
  "use strict";

  global.ClarionOnsite = function (sdk) {
    const post = sdk.post;
    const currentStatus = sdk.currentStatus;
    const PAGE_COUNT_KEY = "clarion.pageCount";

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

    function startPopups(options) {
      if (popupState.on) return;
      popupState.on = true;
      popupState.pageCount = countPage();
      watchExitIntent(options);
      if (document.readyState === "complete") askForPopups();
      else global.addEventListener("load", askForPopups, { once: true });
    }

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
        sdk.requestPush({ categories: categories }).then((status) => {
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
      if (onboardingState.shown || currentStatus() !== "ask" || !sdk.config().vapidPublicKey) return;
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

    return { startPopups: startPopups, startOnboarding: startOnboarding, pageChanged: askForPopupsSoon };
  };
})(window);
