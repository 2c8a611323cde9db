/* The @ menu and the emoji picker for fields marked data-personalise.
 *
 * Typing "@" (at the start or after a space) in such a field opens a list of the
 * properties the server suggests (data-suggest-url on the form; JSON {items: [{label,
 * group, insert}]}), filtered by what follows the "@". Arrow keys move, Enter or Tab
 * inserts the Liquid tag in place of "@…", Escape closes. The emoji button inserts at
 * the caret. Without JavaScript the fields are plain text boxes and the form still posts.
 * Each field is set up once, by static/js/app.js, on the page and in every swapped fragment.
 */
(function () {
  "use strict";

  const EMOJI = ["😀", "😂", "😍", "🥳", "😎", "🤩", "😉", "🙌", "👍", "👋", "🙏", "💪", "🔥", "✨", "⭐", "🎉",
    "🎁", "🛒", "🛍️", "💸", "💰", "🏷️", "⏰", "📦", "🚚", "❤️", "💙", "✅", "⚡", "☀️", "🌧️", "❄️", "🍕", "☕",
    "🎂", "📣", "🔔", "👀", "➡️", "🆕"];
  // "@" then up to 40 characters of a property name, right before the caret.
  const TYPED = /(^|\s)@([\w. -]{0,40})$/;
  let open = null; // {field, start, items, active, list}
  let counter = 0;
  // Each keystroke asks again; answers can come back out of order, and only the answer
  // to the latest question may draw the menu (else Enter inserts a tag for "@" alone).
  let asked = 0;

  function changed(field) {
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertAt(field, start, end, text) {
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    const caret = start + text.length;
    field.focus();
    field.setSelectionRange(caret, caret);
    changed(field);
  }

  function close() {
    if (!open) return;
    open.list.remove();
    open.field.removeAttribute("aria-controls");
    open.field.removeAttribute("aria-activedescendant");
    open = null;
  }

  function highlight(index) {
    if (!open || !open.items.length) return;
    open.active = (index + open.items.length) % open.items.length;
    open.list.querySelectorAll("[role=option]").forEach(function (option, i) {
      option.setAttribute("aria-selected", i === open.active ? "true" : "false");
      if (i === open.active) {
        open.field.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function choose(index) {
    const item = open.items[index];
    const field = open.field;
    const start = open.start;
    close();
    insertAt(field, start, field.selectionStart, item.insert);
  }

  function show(field, start, items) {
    close();
    const list = document.createElement("ul");
    list.className = "personalise-menu";
    list.id = "personalise-menu-" + ++counter;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Personalise with");
    if (!items.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "No property matches";
      list.appendChild(empty);
    }
    items.forEach(function (item, i) {
      const option = document.createElement("li");
      option.id = list.id + "-" + i;
      option.setAttribute("role", "option");
      option.dataset.insert = item.insert;
      const name = document.createElement("span");
      name.textContent = item.label;
      const group = document.createElement("small");
      group.textContent = item.group;
      option.append(name, group);
      // mousedown, not click: the field must keep its focus and caret.
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(i);
      });
      list.appendChild(option);
    });
    field.insertAdjacentElement("afterend", list);
    field.setAttribute("aria-controls", list.id);
    open = { field: field, start: start, items: items, active: 0, list: list };
    highlight(0);
  }

  function suggest(field) {
    const caret = field.selectionStart;
    const match = TYPED.exec(field.value.slice(0, caret));
    const form = field.closest("[data-suggest-url]");
    if (!match || !form) return close();
    const start = caret - match[2].length - 1;
    const url = form.dataset.suggestUrl + "?q=" + encodeURIComponent(match[2]);
    const question = ++asked;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (data) {
        // Only the latest question, and only if the field still holds this "@…" at the caret.
        if (question !== asked) return;
        if (document.activeElement === field && TYPED.test(field.value.slice(0, field.selectionStart))) {
          show(field, start, data.items || []);
        }
      })
      .catch(close);
  }

  function onKey(event) {
    if (!open || open.field !== event.target) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(open.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" || event.key === "Tab") && open.items.length) {
      event.preventDefault();
      choose(open.active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  }

  function emojiPicker(field) {
    // A page that htmx restored from its history snapshot holds copies of the button and
    // grid without their listeners: replace them.
    while (field.nextElementSibling && field.nextElementSibling.matches(".emoji-button, .emoji-grid")) {
      field.nextElementSibling.remove();
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "emoji-button";
    button.textContent = "☺";
    button.setAttribute("aria-label", "Insert an emoji");
    button.setAttribute("aria-expanded", "false");
    const grid = document.createElement("div");
    grid.className = "emoji-grid";
    grid.hidden = true;
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", "Emoji");
    let caret = null;
    field.addEventListener("blur", function () { caret = [field.selectionStart, field.selectionEnd]; });
    EMOJI.forEach(function (emoji) {
      const choice = document.createElement("button");
      choice.type = "button";
      choice.textContent = emoji;
      choice.addEventListener("click", function () {
        const [start, end] = caret || [field.value.length, field.value.length];
        grid.hidden = true;
        button.setAttribute("aria-expanded", "false");
        insertAt(field, start, end, emoji);
      });
      grid.appendChild(choice);
    });
    button.addEventListener("click", function () {
      grid.hidden = !grid.hidden;
      button.setAttribute("aria-expanded", String(!grid.hidden));
      if (!grid.hidden) grid.querySelector("button").focus();
    });
    grid.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        grid.hidden = true;
        button.setAttribute("aria-expanded", "false");
        button.focus();
      }
    });
    field.insertAdjacentElement("afterend", grid);
    field.insertAdjacentElement("afterend", button);
  }

  function attach(field) {
    field.dataset.personaliseReady = "1"; // says the menu is ready (the browser tests wait for it); not a guard
    field.setAttribute("autocomplete", "off");
    // A text field announces its menu through aria-autocomplete, aria-controls and
    // aria-activedescendant; aria-expanded is not allowed on a textbox (ARIA 1.2, and
    // axe-core's aria-allowed-attr in every browser test), and a textarea cannot be a combobox.
    field.setAttribute("aria-autocomplete", "list");
    field.addEventListener("input", function () { suggest(field); });
    field.addEventListener("keydown", onKey);
    field.addEventListener("blur", function () { setTimeout(function () { if (open && open.field === field) close(); }, 150); });
    if (/(title|body|text|caption)$/.test(field.name)) emojiPicker(field);
  }

  Dashboard.widget("[data-personalise]", attach);
})();
