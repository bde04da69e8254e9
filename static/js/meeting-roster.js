/*
 * The live roster of a meeting page. It watches the meeting's topic on /ws/live/ and, once the
 * watch is confirmed, reads the whole roster (so nothing between the read and the watch is
 * lost). From then on messages carry only what changed ("roster-delta": joined, changed, left),
 * numbered by the meeting's roster version, and are applied in that order. A number skipped,
 * a count that disagrees, a "resync" from the server or a new connection make the page read
 * the whole roster again; changes that arrive meanwhile wait and are applied on top of it, the
 * ones it already holds skipped. A "roster" message (the call started or ended) replaces all.
 */
(function () {
  "use strict";

  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const PING_MS = 20000;
  const CLOSE_UNAUTHENTICATED = 4401;
  const RETRY_READ_MS = 2000;

  function init() {
    const section = document.querySelector("[data-roster]");
    if (!section) {
      return;
    }
    const topic = section.dataset.topic;
    const rosterUrl = section.dataset.rosterUrl;
    const photoUrl = section.dataset.photoUrl || "";
    const list = section.querySelector("[data-roster-list]");
    const summary = section.querySelector("[data-roster-summary]");
    const stateTag = section.querySelector("[data-roster-state]");
    const connection = section.querySelector("[data-roster-connection]");
    const zone = document.documentElement.dataset.timeZone || undefined;
    let clockFormat;
    try {
      clockFormat = new Intl.DateTimeFormat(undefined, {
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
        timeZone: zone,
      });
    } catch (error) {
      clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
    }

    // What the page shows: the version it holds, the call's state, each person by key.
    let version = Number(section.dataset.rosterVersion || "-1");
    let running = section.dataset.rosterRunning === "true";
    const people = new Map();
    const items = new Map();
    list.querySelectorAll("[data-key]").forEach(function (item) {
      items.set(item.dataset.key, item);
      people.set(item.dataset.key, {
        key: item.dataset.key,
        inLobby: item.dataset.inLobby === "true",
        since: item.dataset.since || "",
        name: item.dataset.name || "",
      });
    });
    // Changes that arrived while the whole roster was being read, by version.
    let waiting = [];
    let reading = false;
    let readAgain = false;
    let socket = null;
    let attempt = 0;
    let pinger = null;
    let lastSummary = summary.textContent;

    function say(text) {
      connection.textContent = text;
      connection.hidden = !text;
    }

    function before(one, other) {
      if (one.inLobby !== other.inLobby) {
        return one.inLobby ? false : true;
      }
      if (one.since !== other.since) {
        return Date.parse(one.since) < Date.parse(other.since);
      }
      return one.name.localeCompare(other.name) < 0;
    }

    function itemOf(person) {
      const item = document.createElement("li");
      item.className = "roster-person";
      item.dataset.key = person.key;
      item.dataset.personId = person.id;
      const avatar = document.createElement("span");
      avatar.className = "avatar roster-avatar";
      avatar.setAttribute("aria-hidden", "true");
      if (photoUrl && person.id) {
        const photo = document.createElement("img");
        photo.className = "roster-photo";
        photo.alt = "";
        photo.width = 32;
        photo.height = 32;
        photo.loading = "lazy";
        photo.src = photoUrl.replace("__id__", encodeURIComponent(person.id));
        avatar.append(photo);
      }
      const name = document.createElement("span");
      name.className = "roster-name";
      name.textContent = person.name;
      const role = document.createElement("span");
      role.className = "roster-role";
      role.textContent = person.role || "Attendee";
      item.append(avatar, name, role);
      if (person.inLobby) {
        const tag = document.createElement("span");
        tag.className = "meeting-tag";
        tag.textContent = "In the lobby";
        item.append(tag);
      }
      const since = document.createElement("span");
      since.className = "roster-since";
      const time = document.createElement("time");
      time.dateTime = person.since;
      const moment = new Date(person.since);
      time.textContent = isNaN(moment.getTime()) ? "" : clockFormat.format(moment);
      since.append(document.createTextNode("since "), time);
      item.append(since);
      return item;
    }

    function remove(key) {
      const item = items.get(key);
      if (item) {
        item.remove();
      }
      items.delete(key);
      people.delete(key);
    }

    function place(person) {
      remove(person.key);
      const item = itemOf(person);
      // Most joins are the newest, placed last: look from the end.
      let next = null;
      for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
        const other = people.get(node.dataset.key);
        if (other && before(other, person)) {
          break;
        }
        next = node;
      }
      list.insertBefore(item, next);
      items.set(person.key, item);
      people.set(person.key, person);
    }

    function showSummary() {
      stateTag.hidden = !running;
      const text = running
        ? people.size + " in the meeting."
        : "The meeting has not started, or has ended.";
      // Announced only when it changes, not at every reconnection.
      if (text !== lastSummary) {
        summary.textContent = text;
        lastSummary = text;
      }
    }

    function replaceAll(roster) {
      list.replaceChildren();
      items.clear();
      people.clear();
      roster.people.forEach(function (person) {
        const item = itemOf(person);
        list.append(item);
        items.set(person.key, item);
        people.set(person.key, person);
      });
      version = roster.version;
      running = roster.running;
      showSummary();
    }

    function applyDelta(delta) {
      delta.left.forEach(remove);
      delta.joined.forEach(place);
      delta.changed.forEach(place);
      version = delta.version;
      running = delta.running;
      showSummary();
      // The server says how many it holds after this change: a page that disagrees has
      // missed something and reads the roster again.
      if (typeof delta.count === "number" && delta.count !== people.size) {
        readRoster();
      }
    }

    function take(message) {
      if (message.version <= version) {
        return; // already shown (read with the whole roster, or a repeat)
      }
      if (message.type === "roster") {
        replaceAll(message);
      } else if (message.version === version + 1) {
        applyDelta(message);
      } else {
        // A number skipped: something was lost on the way.
        waiting.push(message);
        readRoster();
      }
    }

    function applyWaiting() {
      const queued = waiting.sort(function (one, other) {
        return one.version - other.version;
      });
      waiting = [];
      for (let index = 0; index < queued.length; index += 1) {
        const message = queued[index];
        if (message.version <= version) {
          continue;
        }
        if (message.type !== "roster" && message.version !== version + 1) {
          waiting = queued.slice(index);
          readRoster();
          return;
        }
        take(message);
      }
    }

    function readRoster() {
      if (reading) {
        readAgain = true;
        return;
      }
      reading = true;
      readAgain = false;
      fetch(rosterUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (roster) {
          reading = false;
          if (!roster) {
            throw new Error("no roster");
          }
          if (roster.version >= version) {
            replaceAll(roster);
          }
          if (readAgain) {
            readRoster();
          } else {
            applyWaiting();
          }
        })
        .catch(function () {
          reading = false;
          say("The roster could not be read; it may be out of date.");
          setTimeout(readRoster, RETRY_READ_MS);
        });
    }

    function receive(message) {
      if (message.type === "watching" || message.type === "resync") {
        say("");
        readRoster();
      } else if (message.type === "roster" || message.type === "roster-delta") {
        if (reading) {
          waiting.push(message);
        } else {
          take(message);
        }
      } else if (message.type === "unavailable") {
        say("Live updates paused; reconnecting…");
      }
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
        receive(message);
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
