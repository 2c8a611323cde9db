// The Who and When steps of the campaign wizard: show only the parts that depend on a
// choice the marketer made. An element with data-show-if="repeat=weekly|monthly" shows
// while the control named "repeat" in its form holds one of those values (a checked
// checkbox holds "on"). Without JavaScript every part shows and the server ignores
// what does not apply. Each such element is set up by static/js/app.js when it appears
// (on the page, or in a fragment htmx swaps in); a change to any control shows or hides
// them all again.
(function () {
  "use strict";

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

  function apply(element) {
    const form = element.closest("form");
    if (!form) return;
    const [name, values] = element.dataset.showIf.split("=");
    element.hidden = !values.split("|").includes(valueOf(form, name));
  }

  document.addEventListener("change", function (event) {
    if (event.target.name) document.querySelectorAll("[data-show-if]").forEach(apply);
  });
  Dashboard.widget("[data-show-if]", apply);
})();
