/* The events console's import from Teams: while the portal looks in Teams for the person's
 * events, the page asks how it goes, then shows the new list and says what was added (a polite
 * status), or what went wrong (an alert). Without scripts, reloading the page does the same. */
(function () {
  "use strict";
  const box = document.querySelector("[data-teams-import]");
  if (!box || box.dataset.state !== "running") return;
  const message = box.querySelector("[data-import-message]");
  const error = box.querySelector("[data-import-error]");
  const consent = box.querySelector("[data-import-consent]");
  const sections = document.querySelector("[data-console-sections]");
  const POLL_MS = 1500;
  const GIVE_UP_MS = 120000;
  const started = Date.now();

  function finish(status) {
    box.dataset.state = status.state;
    message.removeAttribute("aria-busy");
    if (status.sectionsHtml && sections) sections.innerHTML = status.sectionsHtml;
    if (status.state === "failed") {
      message.textContent = "";
      const said = document.createElement("p");
      const level = document.createElement("span");
      said.className = "flash flash-error";
      level.className = "flash-level";
      level.textContent = "Error:";
      said.append(level, " " + status.message);
      error.replaceChildren(said);
      if (consent) consent.hidden = false;
    } else {
      message.textContent = status.message;
    }
  }

  function ask() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (status) {
        if (status.state === "running" || status.state === "idle") {
          later();
        } else {
          finish(status);
        }
      })
      .catch(later);
  }

  function later() {
    if (Date.now() - started > GIVE_UP_MS) {
      message.removeAttribute("aria-busy");
      message.textContent = "Teams is taking long to answer. Reload this page in a while to see the events found.";
      return;
    }
    window.setTimeout(ask, POLL_MS);
  }

  later();
})();
