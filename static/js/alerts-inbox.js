/*
 * The header's alerts inbox: the link to the alerts page becomes a button that opens a small
 * panel with the last alerts (read from the server each time it opens) and the people one is
 * still waiting for. A notice arriving on the page ("X is available now", sent by
 * presence-alerts.js as a "commsportal:notice" event) marks the button as new. Escape closes
 * the panel and gives the focus back to the button. Loaded with `defer` on every page.
 */
(function () {
  "use strict";

  function init() {
    const link = document.querySelector("[data-alerts-toggle]");
    const panel = document.querySelector("[data-alerts-panel]");
    if (!link || !panel) {
      return;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = link.className;
    button.innerHTML = link.innerHTML;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", panel.id);
    link.replaceWith(button);
    const fresh = button.querySelector("[data-alerts-new]");

    function close(returnFocus) {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) {
        button.focus();
      }
    }

    function open() {
      button.setAttribute("aria-expanded", "true");
      panel.hidden = false;
      panel.setAttribute("aria-busy", "true");
      if (fresh) {
        fresh.hidden = true;
      }
      fetch(link.dataset.panelUrl, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          panel.innerHTML = html;
        })
        .catch(function () {
          panel.textContent = "Your alerts could not be loaded. Try again.";
        })
        .finally(function () {
          panel.removeAttribute("aria-busy");
        });
    }

    button.addEventListener("click", function () {
      if (button.getAttribute("aria-expanded") === "true") {
        close(false);
      } else {
        open();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) {
        close(panel.contains(document.activeElement) || document.activeElement === button);
      }
    });
    document.addEventListener("click", function (event) {
      if (!panel.hidden && !panel.contains(event.target) && !button.contains(event.target)) {
        close(false);
      }
    });
    document.addEventListener("commsportal:notice", function () {
      if (fresh && panel.hidden) {
        fresh.hidden = false;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
