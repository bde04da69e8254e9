/*
 * Focus and announcements across full page loads, on every page:
 *  - a form sent with a full reload leaves a marker (sessionStorage), and the next page puts
 *    the focus back on the same button, so the keyboard stays where the person acted;
 *  - a form that came back with mistakes puts the focus on its first wrong field instead
 *    (its error is linked to it with aria-describedby);
 *  - messages present at load (saved, failed) are read out through a polite live region
 *    filled just after load, as live regions only speak of changes.
 * window.CommsPortalAnnounce.say(text) lets page scripts use the same region.
 * Loaded with `defer`. No dependencies.
 */
(function () {
  "use strict";

  const MARKER_KEY = "portal-focus-after-load";
  // Screen readers register an empty live region first; text added this much later is read.
  const ANNOUNCE_DELAY_MS = 400;

  function region() {
    return document.querySelector("[data-page-announcer]");
  }

  function say(text) {
    const element = region();
    if (!element || !text) {
      return;
    }
    // Emptied first, so the same words said twice are still read twice.
    element.textContent = "";
    setTimeout(function () {
      element.textContent = text;
    }, 50);
  }

  function formKey(form) {
    const kind = form.querySelector('input[type="hidden"][name="action"]');
    return (form.getAttribute("action") || "") + "|" + (kind ? kind.value : "");
  }

  function rememberSubmitter(event) {
    if (event.defaultPrevented) {
      return; // a page script sends it without leaving the page; the focus stays by itself
    }
    const form = event.target;
    const buttons = Array.from(form.querySelectorAll("button, input[type=submit]"));
    const index = buttons.indexOf(event.submitter || document.activeElement);
    if (index < 0) {
      return;
    }
    try {
      sessionStorage.setItem(
        MARKER_KEY,
        JSON.stringify({ path: window.location.pathname, form: formKey(form), button: index }),
      );
    } catch (error) {
      // Storage refused (private mode): the page loads with the focus at the top, as before.
    }
  }

  function takeMarker() {
    try {
      const text = sessionStorage.getItem(MARKER_KEY);
      sessionStorage.removeItem(MARKER_KEY);
      return text ? JSON.parse(text) : null;
    } catch (error) {
      return null;
    }
  }

  function restoreFocus() {
    const marker = takeMarker();
    const wrong = document.querySelector('main [aria-invalid="true"]');
    if (wrong) {
      wrong.focus();
      return;
    }
    if (!marker || marker.path !== window.location.pathname) {
      return;
    }
    const form = Array.from(document.querySelectorAll("form")).find(function (candidate) {
      return formKey(candidate) === marker.form;
    });
    const buttons = form ? form.querySelectorAll("button, input[type=submit]") : [];
    const button = buttons[marker.button];
    if (button && !button.disabled) {
      button.focus();
    }
  }

  function announceMessages() {
    const texts = Array.from(document.querySelectorAll(
      "[data-flash] .flash-text, main .flash-error:not([data-flash]) .flash-text",
    ))
      .map(function (element) {
        return element.textContent.trim();
      })
      .filter(Boolean);
    if (texts.length) {
      setTimeout(function () {
        say(texts.join(" "));
      }, ANNOUNCE_DELAY_MS);
    }
  }

  function init() {
    document.addEventListener("submit", rememberSubmitter);
    restoreFocus();
    announceMessages();
  }

  window.CommsPortalAnnounce = Object.freeze({ say: say });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
