/*
 * Live calls pages: one socket to /ws/live/ watching the call board's topic; on each message
 * the page fetches its live part again ([data-live-refresh]'s data-refresh-url) and swaps it
 * in, keeping the focused control focused. Reconnects with backoff after a lost connection.
 */
(function () {
  "use strict";

  const region = document.querySelector("[data-live-refresh]");
  const status = document.querySelector("[data-live-status]");
  if (!region) {
    return;
  }
  const topic = region.getAttribute("data-topic");
  const refreshUrl = region.getAttribute("data-refresh-url");
  let attempt = 0;
  let pending = false;
  let again = false;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function focusKey(element) {
    if (!element || !region.contains(element)) {
      return null;
    }
    const form = element.closest("form");
    return form ? form.getAttribute("action") : null;
  }

  function refresh() {
    if (pending) {
      again = true;
      return;
    }
    pending = true;
    fetch(refreshUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        const key = focusKey(document.activeElement);
        region.innerHTML = html;
        if (key) {
          const form = region.querySelector('form[action="' + key + '"]');
          const button = form && form.querySelector("button");
          if (button) {
            button.focus();
          }
        }
      })
      .catch(function () {
        say("Live updates paused: the portal cannot be reached.");
      })
      .finally(function () {
        pending = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + "/ws/live/");
    socket.addEventListener("open", function () {
      attempt = 0;
      socket.send(JSON.stringify({ type: "watch", topics: [topic] }));
    });
    socket.addEventListener("message", function (event) {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type === "watching") {
        say("Live: updates as calls change.");
        refresh();
      } else if (message.type === "call" || message.type === "resync") {
        refresh();
      }
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4401) {
        say("Live updates stopped: sign in again.");
        return;
      }
      say("Reconnecting…");
      attempt += 1;
      const delay = Math.min(30000, 500 * Math.pow(2, attempt));
      setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
    });
  }

  connect();
})();
