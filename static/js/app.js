// The dashboard's widgets, each initialised once per element, on the page as drawn and on
// every fragment htmx swaps in later.
//
// A page's own scripts load in <head> (templates/base.html's head block), after htmx and
// this file, and register what they do with Dashboard.widget(selector, init). htmx fires
// htmx:load on the body once it has started and on each piece of content it swaps in;
// every registered selector is looked up inside that piece, and init(element) runs for the
// elements it has not seen yet. Initialised elements are kept in a WeakSet, not marked with
// an attribute: htmx's history snapshot would copy a mark onto elements restored without
// their listeners.
//
// A boosted form can bring another page's body and head (htmx's head-support extension
// merges the heads): a script new to the head runs after htmx:load has fired for that
// body, so registering a widget also initialises what the document already holds. Page
// scripts carry hx-preserve="true" in the head, so a merge keeps them and a file never
// runs twice in one document.
//
// Named Dashboard, not Clarion: Clarion is the SDK's global on customers' sites.
"use strict";
const Dashboard = (() => {
  const widgets = [];

  function within(root, selector) {
    const found = [...root.querySelectorAll(selector)];
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  function initialise(widget, root) {
    for (const element of within(root, widget.selector)) {
      if (widget.done.has(element)) continue;
      widget.done.add(element);
      widget.init(element);
    }
  }

  document.addEventListener("htmx:load", (event) => {
    for (const widget of widgets) initialise(widget, event.detail.elt);
  });

  return {
    widget(selector, init) {
      const widget = { selector, init, done: new WeakSet() };
      widgets.push(widget);
      // Deferred scripts run once the document is parsed; a script a head merge added runs later still.
      if (document.readyState !== "loading") initialise(widget, document);
    },
  };
})();
