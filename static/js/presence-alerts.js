/*
 * Alerts on the people pages: notices pushed to the signed-in person ("X is available now")
 * and the "while this page is open" alerts, kept per tab in sessionStorage, shown as a toast
 * and, once the person allowed it with the button (never asked on load), as a desktop
 * notification. presence-wall.js calls window.CommsPortalAlerts. Loaded with `defer`.
 */
(function () {
  "use strict";

  const PAGE_ALERTS_KEY = "commsPortal.pageAlerts";

  // A person's page address, from the template the server renders on the live-status line.
  function personUrl(personId) {
    const status = document.querySelector("[data-live-status]");
    const template = status ? status.dataset.personUrl : "";
    return template ? template.replace("PERSON_ID", encodeURIComponent(personId)) : "";
  }

  function desktopNotification(title, body, url) {
    if (!("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    try {
      const notification = new Notification(title, { body: body, tag: url || title });
      notification.onclick = function () {
        window.focus();
        if (url) {
          window.location.assign(url);
        }
      };
    } catch (error) {
      // Some browsers only allow notifications from a service worker; the toast suffices.
    }
  }

  function announceAvailable(personId, name) {
    const message = name + " is available now.";
    window.CommsPortal.toast(message, { level: "success", timeout: 10000 });
    desktopNotification("Available now", message, personUrl(personId));
  }

  function showNotice(notice) {
    if (!notice || typeof notice.message !== "string" || notice.message.trim() === "") {
      return;
    }
    window.CommsPortal.toast(notice.message, { level: "success", timeout: 10000 });
    desktopNotification("Comms Portal", notice.message, notice.url);
    if (notice.kind === "available" && notice.person_id) {
      // The one-shot alert is spent: the page's button offers to ask again.
      document.querySelectorAll("[data-alert-button]").forEach(function (button) {
        const form = button.closest("form");
        const url = personUrl(notice.person_id);
        if (form && url && form.action.indexOf(url) !== -1) {
          button.setAttribute("aria-pressed", "false");
          // The label only: the rest of the button's name says whom it is about.
          const label = button.querySelector("[data-alert-label]") || button;
          label.textContent = "Tell me when available";
          form.querySelector('input[name="alert"]').value = "1";
        }
      });
    }
  }

  function pageAlerts() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(PAGE_ALERTS_KEY) || "[]");
      return new Set(Array.isArray(stored) ? stored : []);
    } catch (error) {
      return new Set();
    }
  }

  function savePageAlerts(set) {
    try {
      sessionStorage.setItem(PAGE_ALERTS_KEY, JSON.stringify(Array.from(set)));
    } catch (error) {
      // Storage may be full or disabled; the toggle then lasts only until reload.
    }
  }

  function initPageAlerts() {
    const current = pageAlerts();
    document.querySelectorAll("[data-page-alert]").forEach(function (box) {
      const personId = box.dataset.pageAlert;
      box.checked = current.has(personId);
      box.addEventListener("change", function () {
        const set = pageAlerts();
        if (box.checked) {
          set.add(personId);
        } else {
          set.delete(personId);
        }
        savePageAlerts(set);
      });
    });
  }

  function initNotificationButton() {
    const button = document.querySelector("[data-notify-permission]");
    if (!button || !("Notification" in window) || Notification.permission !== "default") {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      Promise.resolve(Notification.requestPermission()).then(function (answer) {
        button.hidden = true;
        const text =
          answer === "granted"
            ? "Desktop notifications are on."
            : "Desktop notifications stay off; alerts still show on the page.";
        window.CommsPortal.toast(text, { level: "info" });
      });
    });
  }

  /** Announce ``personId`` becoming Available if this tab asked to be told. */
  function pageAlertFor(personId, name) {
    if (pageAlerts().has(personId)) {
      announceAvailable(personId, name);
    }
  }

  window.CommsPortalAlerts = Object.freeze({ showNotice: showNotice, pageAlertFor: pageAlertFor });

  function init() {
    initPageAlerts();
    initNotificationButton();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
