// The estimated reach, kept fresh while the marketer edits the rules: the Who step of the
// campaign wizard and the segment builder both use this file, and nothing else writes
// their reach panel once the page is drawn.
//
// The panel (#reach) names where to count (data-reach-url) and the form whose fields
// describe the audience (data-reach-form). Any edit inside an element marked
// data-reach-source (typing, a select, a checkbox or radio) and any redraw of the builder
// that htmx posts (add or remove a condition or group, a select that changes the fields)
// asks for a count 300 ms after the last one; the old numbers stay, dimmed, with
// "counting…" (and aria-busy) until the answer comes. The answer is the panel drawn again,
// with each condition's message (elements with hx-swap-oob) beside it: the same shape from
// both pages' endpoints.
//
// An older answer must never land on top of a newer one: each new edit aborts the request
// on its way, and an answer is shown only if no edit came after it was asked for (its
// sequence number is still the latest).
//
// The pages load this file in their <head> (hx-preserve), so it runs once per document;
// static/js/app.js hands it each reach panel as it appears.
(function () {
  "use strict";
  const DELAY = 300; // ms after the last edit: one count per pause in typing, not per key
  const POLL = 50; // ms between looks at a builder redraw still on its way

  let timer = null;
  let controller = null;
  let sequence = 0;
  const redraws = new Set(); // the htmx requests that will draw the builder (or its form) again

  function panel() {
    return document.querySelector("[data-reach-url]");
  }

  function formOf(reach) {
    return document.getElementById(reach.dataset.reachForm);
  }

  function status(reach, text) {
    const line = reach.querySelector(".reach-status");
    if (line) line.textContent = text;
  }

  function markCounting(reach) {
    reach.classList.add("is-counting");
    reach.setAttribute("aria-busy", "true");
    status(reach, "counting…");
  }

  function schedule(delay) {
    const reach = panel();
    if (!reach) return;
    sequence += 1; // whatever is on its way now answers for rules that are gone
    if (controller) controller.abort();
    controller = null;
    clearTimeout(timer);
    markCounting(reach);
    timer = setTimeout(count, delay);
  }

  function redrawing() {
    for (const xhr of redraws) {
      // 1–3: opened, sent, receiving. When it is 4 its answer is already swapped in:
      // htmx swaps in the same task as the load event, and a timer never runs between.
      if (xhr.readyState > 0 && xhr.readyState < 4) return true;
      redraws.delete(xhr);
    }
    return false;
  }

  function count() {
    const reach = panel();
    const form = reach && formOf(reach);
    if (!form) return;
    if (redrawing()) {
      // Count the rules the builder is about to show, not the ones it is leaving.
      timer = setTimeout(count, POLL);
      return;
    }
    const mine = sequence;
    controller = new AbortController();
    const body = new URLSearchParams(new FormData(form));
    body.set("action", "estimate");
    // HX-Request: the views answer a fragment to htmx and a whole page otherwise (no JavaScript).
    fetch(reach.dataset.reachUrl, {
      method: "POST",
      body: body,
      headers: { "HX-Request": "true" },
      credentials: "same-origin",
      signal: controller.signal,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (mine === sequence) show(html);
      })
      .catch(function (error) {
        if (error.name === "AbortError" || mine !== sequence) return;
        const current = panel();
        if (!current) return;
        current.classList.remove("is-counting");
        current.removeAttribute("aria-busy");
        current.classList.add("is-stale");
        status(current, "could not count: the numbers above are old. Try Count again.");
      });
  }

  function show(html) {
    const reach = panel();
    if (!reach) return;
    const answer = document.createElement("template");
    answer.innerHTML = html;
    const fresh = answer.content.querySelector("#reach");
    if (!fresh) return;
    // Fill the live region in place (a replaced region is not always announced).
    for (const name of reach.getAttributeNames()) {
      if (!fresh.hasAttribute(name)) reach.removeAttribute(name);
    }
    for (const name of fresh.getAttributeNames()) reach.setAttribute(name, fresh.getAttribute(name));
    reach.replaceChildren(...fresh.childNodes);
    answer.content.querySelectorAll("[hx-swap-oob][id]").forEach(function (element) {
      const old = document.getElementById(element.id);
      element.removeAttribute("hx-swap-oob");
      if (old) old.replaceWith(element);
    });
    htmx.process(reach);
  }

  function isSource(target) {
    const reach = panel();
    const form = reach && formOf(reach);
    return Boolean(form && target.name && target.form === form && target.closest("[data-reach-source]"));
  }

  function onEdit(event) {
    if (isSource(event.target)) schedule(DELAY);
  }

  document.addEventListener("input", onEdit);
  document.addEventListener("change", onEdit);
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-reach-recount]");
    if (!button || !panel()) return;
    event.preventDefault(); // without JavaScript it submits the form with action=estimate
    schedule(0);
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    const reach = panel();
    const form = reach && formOf(reach);
    const detail = event.detail;
    if (!form || detail.requestConfig.verb === "get" || !form.contains(detail.elt)) return;
    redraws.add(detail.xhr);
    schedule(DELAY);
  });

  // A panel drawn without a count of its own (the Who step's first view) counts at once.
  Dashboard.widget("[data-reach-url]", function (reach) {
    if (!reach.hasAttribute("data-counted-at")) schedule(0);
  });
})();
