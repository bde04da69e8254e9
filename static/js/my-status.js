/*
 * My status: the "Clear at" date and time shows only once "At a date and time" is chosen,
 * which spares everyone else its tab stops. Without this script it is always shown, with
 * its help saying when it counts. No dependencies.
 */
(function () {
  "use strict";

  function init() {
    const choice = document.querySelector('select[name="clear_after"]');
    const field = document.querySelector("[data-clear-at]");
    if (!choice || !field) {
      return;
    }
    function update() {
      // A mistake in it stays in view, whatever is chosen, so it can be fixed.
      field.hidden = choice.value !== "custom" && !field.querySelector(".field-error");
    }
    choice.addEventListener("change", update);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
