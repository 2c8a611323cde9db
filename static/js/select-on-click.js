// A value to copy whole (a new API key, an identity secret) is selected by one click.
// Delegated from the document: the inputs arrive in htmx swaps after the page loaded.
"use strict";
document.addEventListener("click", (event) => {
  if (event.target.matches("input[data-select-on-click]")) {
    event.target.select();
  }
});
