/*
 * Comms Portal shell behaviour: dismissible flash messages, the phone-width menu toggle, the
 * time-zone control, telling the server the browser's time zone, and the window.CommsPortal
 * helpers (toast) that page scripts use. Loaded with `defer`.
 */
(function () {
  "use strict";

  const TOAST_LEVELS = ["info", "success", "warning", "error"];
  // Levels that need attention say so in words, so colour is never the only signal.
  const LEVEL_PREFIXES = { warning: "Warning: ", error: "Error: " };
  const DEFAULT_TOAST_MS = 6000;
  // The server reads the browser's zone from this cookie (accounts/time_zones.py).
  const ZONE_COOKIE = "portal_browser_zone";
  const ZONE_COOKIE_SECONDS = 365 * 24 * 3600;
  const CLOSE_ICON =
    '<svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">' +
    '<path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" stroke-width="1.8" ' +
    'stroke-linecap="round" fill="none"/></svg>';

  /** Keep focus somewhere sensible after the focused element disappears. */
  function moveFocusAfterRemoval(fallbackTarget) {
    const target = fallbackTarget || document.getElementById("main");
    if (target) {
      target.focus({ preventScroll: true });
    }
  }

  function initFlashMessages() {
    const flashes = document.querySelectorAll("[data-flash]");
    flashes.forEach(function (flash) {
      const button = flash.querySelector("[data-dismiss]");
      if (!button) {
        return;
      }
      // The button only works with this script, so it stays hidden until now.
      button.hidden = false;
      button.addEventListener("click", function () {
        const next = flash.nextElementSibling || flash.previousElementSibling;
        const list = flash.parentElement;
        flash.remove();
        if (list && list.children.length === 0) {
          list.remove();
        }
        const nextButton = next ? next.querySelector("[data-dismiss]") : null;
        moveFocusAfterRemoval(nextButton);
      });
    });
  }

  function initMenuToggle() {
    const toggle = document.querySelector("[data-menu-toggle]");
    if (!toggle) {
      return;
    }
    const menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) {
      return;
    }

    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.dataset.state = open ? "open" : "closed";
    }

    // Without this script the menu simply stays open, so phones still reach every link.
    toggle.hidden = false;
    setOpen(false);

    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });

    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || toggle.getAttribute("aria-expanded") !== "true") {
        return;
      }
      if (getComputedStyle(toggle).display === "none") {
        return;
      }
      setOpen(false);
      toggle.focus();
    });
  }

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function cookieValue(name) {
    const prefix = name + "=";
    const found = document.cookie.split("; ").find(function (part) {
      return part.indexOf(prefix) === 0;
    });
    return found ? decodeURIComponent(found.slice(prefix.length)) : "";
  }

  /** Tell the server the browser's time zone once, so later pages show times in it. */
  function initTimeZone() {
    const root = document.documentElement;
    const detect = root.dataset.timeZoneDetect;
    const zone = browserZone();
    // Already told (or the server refused it): never ask again, so a page cannot loop.
    if (!detect || !zone || cookieValue(ZONE_COOKIE) === zone) {
      return;
    }
    document.cookie =
      ZONE_COOKIE +
      "=" +
      encodeURIComponent(zone) +
      "; path=/; max-age=" +
      ZONE_COOKIE_SECONDS +
      "; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
    // This page was drawn in the portal's default zone: draw it again in the person's own.
    if (detect === "reload" && zone !== root.dataset.timeZone) {
      window.location.reload();
    }
  }

  /** Escape closes the time-zone control and puts focus back on it. */
  function initZoneMenu() {
    document.querySelectorAll(".zone-menu").forEach(function (menu) {
      menu.addEventListener("keydown", function (event) {
        if (event.key !== "Escape" || !menu.open) {
          return;
        }
        // The phone menu would close too; one Escape closes one thing.
        event.stopPropagation();
        menu.open = false;
        menu.querySelector("summary").focus();
      });
    });
  }

  function toastRegion() {
    let region = document.getElementById("toast-region");
    if (!region) {
      region = document.createElement("div");
      region.id = "toast-region";
      region.className = "toast-region";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  }

  /**
   * Show a short message in the polite live region and return a handle to dismiss it.
   * options.level: "info" (default), "success", "warning" or "error".
   * options.timeout: milliseconds before it goes away; 0 keeps it until dismissed.
   */
  function toast(message, options) {
    const settings = options || {};
    const level = settings.level === undefined ? "info" : settings.level;
    const timeout = settings.timeout === undefined ? DEFAULT_TOAST_MS : settings.timeout;

    if (typeof message !== "string" || message.trim() === "") {
      throw new TypeError("CommsPortal.toast: message must be a non-empty string");
    }
    if (TOAST_LEVELS.indexOf(level) === -1) {
      throw new TypeError(
        'CommsPortal.toast: unknown level "' + level + '"; use one of ' + TOAST_LEVELS.join(", "),
      );
    }
    if (typeof timeout !== "number" || !(timeout >= 0)) {
      throw new TypeError("CommsPortal.toast: timeout must be a number of milliseconds >= 0");
    }

    const element = document.createElement("div");
    element.className = "toast toast-" + level;
    element.dataset.toast = level;

    const text = document.createElement("p");
    text.className = "toast-text";
    if (LEVEL_PREFIXES[level]) {
      const prefix = document.createElement("span");
      prefix.className = "toast-level";
      prefix.textContent = LEVEL_PREFIXES[level];
      text.append(prefix);
    }
    text.append(document.createTextNode(message));

    const close = document.createElement("button");
    close.type = "button";
    close.className = "dismiss";
    close.setAttribute("aria-label", "Dismiss notification");
    close.innerHTML = CLOSE_ICON;

    element.append(text, close);

    let timer = null;
    let removed = false;
    function pause() {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    }
    function schedule() {
      pause();
      if (timeout > 0 && !removed) {
        timer = setTimeout(dismiss, timeout);
      }
    }
    function dismiss() {
      if (removed) {
        return;
      }
      removed = true;
      pause();
      const hadFocus = element.contains(document.activeElement);
      element.remove();
      if (hadFocus) {
        moveFocusAfterRemoval(null);
      }
    }
    close.addEventListener("click", dismiss);
    // A reader who points at or tabs into a toast gets to finish reading it.
    element.addEventListener("mouseenter", pause);
    element.addEventListener("mouseleave", function () {
      if (!element.contains(document.activeElement)) {
        schedule();
      }
    });
    element.addEventListener("focusin", pause);
    element.addEventListener("focusout", function (event) {
      if (!element.contains(event.relatedTarget) && !element.matches(":hover")) {
        schedule();
      }
    });

    toastRegion().appendChild(element);
    schedule();
    return { element: element, dismiss: dismiss };
  }

  function init() {
    initTimeZone();
    initFlashMessages();
    initMenuToggle();
    initZoneMenu();
  }

  window.CommsPortal = Object.freeze({ toast: toast });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
