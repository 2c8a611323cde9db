/* The What step: the preview follows the variant being edited, and the "Apply" buttons
 * that only a page without JavaScript needs are hidden (htmx applies those changes).
 * Loaded in the step's <head> (hx-preserve), so it runs once per document. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("focusin", function (event) {
    const variant = event.target.closest && event.target.closest("section.variant");
    const select = document.getElementById("preview-variant");
    if (!variant || !select) return;
    const key = variant.id.replace("variant-", "");
    if (select.value !== key && select.querySelector('option[value="' + key + '"]')) {
      select.value = key;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
})();
