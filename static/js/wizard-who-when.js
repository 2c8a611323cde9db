// The Who and When steps of the campaign wizard: show only the parts that depend on a
// choice the marketer made. An element with data-show-if="repeat=weekly|monthly" shows
// while the control named "repeat" in its form holds one of those values (a checked
// checkbox holds "on"). Without JavaScript every part shows and the server ignores
// what does not apply. htmx runs this file again after each boosted page swap.
(function () {
  "use strict";
  if (window.clarionShowIf) {
    window.clarionShowIf(document);
    return;
  }

  function valueOf(form, name) {
    for (const control of form.querySelectorAll('[name="' + name + '"]')) {
      if (control.type === "radio" || control.type === "checkbox") {
        if (control.checked) return control.value;
      } else {
        return control.value;
      }
    }
    return "";
  }

  function apply(root) {
    root.querySelectorAll("[data-show-if]").forEach(function (element) {
      const form = element.closest("form");
      if (!form) return;
      const [name, values] = element.dataset.showIf.split("=");
      element.hidden = !values.split("|").includes(valueOf(form, name));
    });
  }

  window.clarionShowIf = apply;
  document.addEventListener("change", function (event) {
    if (event.target.name) apply(document);
  });
  document.addEventListener("htmx:load", function () {
    apply(document);
  });
  apply(document);
})();
