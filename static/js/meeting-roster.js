/*
 * The live roster of a meeting page: watches the meeting's topic on /ws/live/, reads the
 * roster once the watch is confirmed (so no change between the read and the watch is lost),
 * redraws it on every "roster" message, and reconnects with backoff after a lost connection.
 */
(function () {
  "use strict";

  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const PING_MS = 20000;
  const CLOSE_UNAUTHENTICATED = 4401;

  function init() {
    const section = document.querySelector("[data-roster]");
    if (!section) {
      return;
    }
    const topic = section.dataset.topic;
    const rosterUrl = section.dataset.rosterUrl;
    const list = section.querySelector("[data-roster-list]");
    const summary = section.querySelector("[data-roster-summary]");
    const connection = section.querySelector("[data-roster-connection]");
    let socket = null;
    let attempt = 0;
    let pinger = null;
    let lastSummary = summary.textContent;

    function render(roster) {
      list.replaceChildren();
      roster.people.forEach(function (person) {
        const item = document.createElement("li");
        item.className = "roster-person";
        item.dataset.personId = person.id;
        item.append(document.createTextNode(person.name));
        if (person.inLobby) {
          const tag = document.createElement("span");
          tag.className = "meeting-tag";
          tag.textContent = "In the lobby";
          item.append(document.createTextNode(" "), tag);
        }
        list.append(item);
      });
      const text = roster.running
        ? roster.people.length + " in the meeting."
        : "The meeting has not started, or has ended.";
      // Announced only when it changes, not at every reconnection.
      if (text !== lastSummary) {
        summary.textContent = text;
        lastSummary = text;
      }
    }

    function say(text) {
      connection.textContent = text;
      connection.hidden = !text;
    }

    function readRoster() {
      fetch(rosterUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (roster) {
          if (roster) {
            render(roster);
          }
        })
        .catch(function () {
          say("The roster could not be read; it may be out of date.");
        });
    }

    function connect() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      const current = new WebSocket(scheme + window.location.host + "/ws/live/");
      socket = current;
      current.addEventListener("open", function () {
        attempt = 0;
        current.send(JSON.stringify({ type: "watch", topics: [topic] }));
        pinger = setInterval(function () {
          if (current.readyState === WebSocket.OPEN) {
            current.send(JSON.stringify({ type: "ping" }));
          }
        }, PING_MS);
      });
      current.addEventListener("message", function (event) {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (message.type === "watching" || message.type === "resync") {
          say("");
          readRoster();
        } else if (message.type === "roster") {
          render(message);
        } else if (message.type === "unavailable") {
          say("Live updates paused; reconnecting…");
        }
      });
      current.addEventListener("close", function (event) {
        clearInterval(pinger);
        if (socket !== current) {
          return;
        }
        socket = null;
        if (event.code === CLOSE_UNAUTHENTICATED) {
          say("You are signed out; sign in again to see who is in the meeting.");
          return;
        }
        const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
        attempt += 1;
        say("Reconnecting…");
        setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
      });
    }

    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
