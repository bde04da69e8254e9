/*
 * Live presence on the people pages. Every element with data-presence-id shows one person;
 * this script keeps those elements current:
 *  - the live socket (/ws/live/) watches the topics of the people on screen
 *    ("presence:<id>") and receives their changes and the signed-in person's notices
 *    ("X is available now"), which the server sends every page of that person unasked;
 *  - on every (re)connect, every minute, and whenever the server asks, it tells the server
 *    whom it shows and, once the server confirms, re-reads them from the JSON snapshot (read
 *    any earlier, a change arriving in between would be lost);
 *  - a dropped socket reconnects with exponential backoff and jitter, and says so; one closed
 *    because its session ended (signed out, expired, account disabled) stops and says why;
 *  - a socket that looks open may be dead (the network went away): the browser's offline
 *    event and a heartbeat (a ping the server answers with a pong) find it within seconds, and
 *    until the page has re-read everyone, each person shown is marked as maybe out of date.
 * Notices and alerts are shown by presence-alerts.js; the wall's list behaviour (filter,
 * scrolling, stars) is in people-list.js. No dependencies.
 */
(function () {
  "use strict";

  const PRESENCE_TOPIC = "presence:";
  // The server names its addresses on the live-status element (data-socket-path and friends).
  let socketPath = "";
  let snapshotUrl = "";
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  // The server forgets people not asked for within a few minutes; ask again well before.
  const RESYNC_EVERY_MS = 60000;
  const SINCE_REFRESH_MS = 30000;
  const WATCH_DEBOUNCE_MS = 150;
  const SNAPSHOT_CHUNK = 200;
  const MAX_WATCHED = 1000;
  const CLOSE_UNAUTHENTICATED = 4401;
  const CLOSE_TOO_MANY_SOCKETS = 4429;
  const SIGN_IN_URL = "/accounts/signin/";
  // What the server says when it closes the socket of a session that ended (its reason).
  const SESSION_ENDED = {
    "signed-out": "You signed out of the portal in this browser: live presence has stopped.",
    expired: "Your sign-in has expired: live presence has stopped.",
    disabled: "Your account has been disabled: live presence has stopped.",
  };
  const SIGNED_OUT_TEXT = "You are signed out: live presence has stopped.";
  const TOO_MANY_SOCKETS_TEXT =
    "Live updates are paused: too many portal pages are open. Close some, and this one resumes.";
  const HIGHLIGHT_MS = 1600;
  // A quiet socket is pinged; one that has said nothing for 3.5 s is dead. Checked every
  // 1.5 s, so a dead connection is found within 5 s.
  const PING_EVERY_MS = 1500;
  const SILENCE_LIMIT_MS = 3500;
  const STALE_TEXT = " (may be out of date)";

  let labels = { availability: {}, activity: {}, workLocation: {} };
  let socket = null;
  let attempt = 0;
  let reconnectTimer = null;
  let watchTimer = null;
  let leaving = false;
  let signedOut = false;
  // When the server asked for a pause between watch messages, until when, and the pending one.
  let watchHeldUntil = 0;
  let heldWatchTimer = null;
  const onScreen = new Set();
  const lastAvailability = new Map();
  const shownVersion = new Map();
  let statusElement = null;
  let cardObserver = null;
  let lastHeard = 0;
  let stale = false;
  // Read out availability changes of these people (favourites, people waited for), by id
  // with their names, once the person opted in; the opt-in is kept on the server.
  const followed = { favourites: new Map(), waiting: new Map() };
  let announcing = false;
  let announcer = null;
  const ANNOUNCE_KEEP = 5;

  /* ---------- Words (mirrors presence/display.py, fed by its label tables) ---------- */

  function availabilityLabel(availability) {
    if (!availability) {
      return labels.availability.PresenceUnknown || "Status unknown";
    }
    return labels.availability[availability] || availability;
  }

  function activityLabel(availability, activity) {
    if (!activity || activity === availability || activity === "PresenceUnknown") {
      return "";
    }
    const label = labels.activity[activity] || activity;
    return label === availabilityLabel(availability) ? "" : label;
  }

  // Times are shown on the clock of the zone the server names (the person's own, which may
  // not be the browser's), as presence/display.py and comms_portal/times.py write them.
  const MONTHS = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  ];
  let clockFormat = null;

  function pageZone() {
    return document.documentElement.dataset.timeZone || "UTC";
  }

  function clockParts(date) {
    if (clockFormat === null) {
      const options = {
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      };
      try {
        const zoned = Object.assign({ timeZone: pageZone() }, options);
        clockFormat = new Intl.DateTimeFormat("en-GB", zoned);
      } catch (error) {
        // A zone this browser does not know: its own clock is the best left.
        clockFormat = new Intl.DateTimeFormat("en-GB", options);
      }
    }
    const parts = {};
    clockFormat.formatToParts(date).forEach(function (part) {
      parts[part.type] = part.value;
    });
    return parts;
  }

  function elapsedText(seconds) {
    if (seconds < 60) {
      return "just now";
    }
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + " min";
    }
    const hours = Math.floor(minutes / 60);
    if (hours < 24) {
      return hours + " h";
    }
    const days = Math.floor(hours / 24);
    return days === 1 ? "1 day" : days + " days";
  }

  function clockText(epochSeconds) {
    const then = clockParts(new Date(epochSeconds * 1000));
    const today = clockParts(new Date());
    const time = then.hour + ":" + then.minute;
    if (then.year === today.year && then.month === today.month && then.day === today.day) {
      return time;
    }
    return Number(then.day) + " " + MONTHS[Number(then.month) - 1] + " " + time;
  }

  /** "14:05 (25 min)": when a status began on the page's clock, and how long ago. */
  function sinceText(epochSeconds) {
    if (!epochSeconds) {
      return "";
    }
    const elapsed = Math.max(0, Math.floor(Date.now() / 1000 - epochSeconds));
    return clockText(epochSeconds) + " (" + elapsedText(elapsed) + ")";
  }

  /* ---------- Connection status ---------- */

  // The element is a polite live region: rewriting it, even with the same words, is read out
  // again, so it changes only when the state does (not at every retry or repeated watch).
  function setStatus(state, text) {
    if (!statusElement) {
      return;
    }
    if (statusElement.dataset.state === state && statusElement.textContent === text) {
      return;
    }
    statusElement.dataset.state = state;
    statusElement.textContent = text;
  }

  /* ---------- Out of date while disconnected ---------- */

  // While the connection is down every person shown stays marked, even one drawn afresh
  // meanwhile (a snapshot answer still on its way when the network went): nothing tells the
  // page of their next change until it has reconnected and read everyone again.
  function markOneStale(root) {
    root.dataset.stale = "true";
    root.querySelectorAll('[data-field="availability"]').forEach(function (badge) {
      if (!badge.querySelector("[data-stale-note]")) {
        const note = document.createElement("span");
        note.className = "visually-hidden";
        note.dataset.staleNote = "";
        note.textContent = STALE_TEXT;
        badge.append(note);
      }
    });
  }

  function markStale() {
    stale = true;
    document.querySelectorAll("[data-presence-id]").forEach(markOneStale);
  }

  function clearStale() {
    stale = false;
    document.querySelectorAll("[data-stale]").forEach(function (root) {
      delete root.dataset.stale;
    });
    document.querySelectorAll("[data-stale-note]").forEach(function (note) {
      note.remove();
    });
  }

  function showSignedOut(reason) {
    if (!statusElement) {
      return;
    }
    statusElement.dataset.state = "signed-out";
    statusElement.textContent = (SESSION_ENDED[reason] || SIGNED_OUT_TEXT) + " ";
    if (reason !== "disabled") {
      // A disabled account cannot sign in again, so it is offered no way to.
      const link = document.createElement("a");
      const next = window.location.pathname + window.location.search;
      link.href = SIGN_IN_URL + "?next=" + encodeURIComponent(next);
      link.textContent = "Sign in again";
      statusElement.append(link);
    }
  }

  /* ---------- Drawing a person's presence ---------- */

  function nameOf(personId) {
    const element = elementsFor(personId)[0];
    return (element && element.dataset.displayName) || "A colleague";
  }

  function elementsFor(personId) {
    return document.querySelectorAll('[data-presence-id="' + CSS.escape(personId) + '"]');
  }

  function setPresenceClass(element, availability, activity) {
    const keep = Array.from(element.classList).filter(function (name) {
      return !name.startsWith("presence-") || name === "presence-badge" || name === "presence-icon";
    });
    element.className = keep.join(" ");
    element.classList.add("presence-" + String(availability || "PresenceUnknown").toLowerCase());
    // A call, a presentation or out of office has an icon of its own (presence/display.py).
    const shaped = (labels.shapedActivities || {})[activity];
    if (shaped && activity !== availability) {
      element.classList.add("presence-" + shaped);
    }
  }

  function setField(root, name, text, hideWhenEmpty) {
    root.querySelectorAll('[data-field="' + name + '"]').forEach(function (element) {
      element.textContent = text;
      if (hideWhenEmpty) {
        element.hidden = text === "";
      }
    });
  }

  function highlight(element) {
    element.classList.remove("is-changed");
    void element.offsetWidth; // restart the animation
    element.classList.add("is-changed");
    setTimeout(function () {
      element.classList.remove("is-changed");
    }, HIGHLIGHT_MS);
  }

  function drawPresence(root, presence) {
    const availability = presence.availability || "PresenceUnknown";
    const activity = activityLabel(availability, presence.activity);
    const location = labels.workLocation[presence.work_location] || "";
    root.querySelectorAll('[data-field="availability"]').forEach(function (badge) {
      setPresenceClass(badge, availability, presence.activity);
      badge.textContent = availabilityLabel(availability);
    });
    root.querySelectorAll('[data-field="icon"]').forEach(function (icon) {
      setPresenceClass(icon, availability, presence.activity);
    });
    // What holds only while Graph still shows it ("Busy until 16:30" on My status).
    root.querySelectorAll("[data-while-availability]").forEach(function (element) {
      element.hidden = element.dataset.whileAvailability !== availability;
    });
    root.querySelectorAll("[data-while-message]").forEach(function (element) {
      element.hidden = element.dataset.whileMessage !== (presence.status_message || "");
    });
    setField(root, "activity", activity, true);
    setField(root, "activity-detail", activity || "—", false);
    root.querySelectorAll('[data-field="since"]').forEach(function (time) {
      const changed = Number(presence.changed_at) || 0;
      time.dataset.epoch = String(changed);
      time.setAttribute("datetime", changed ? new Date(changed * 1000).toISOString() : "");
      time.textContent = changed ? sincePrefix(time) + sinceText(changed) : "";
    });
    root.querySelectorAll('[data-field="status-message"]').forEach(function (note) {
      const message = presence.status_message || "";
      note.hidden = message === "";
      note.replaceChildren();
      const prefix = document.createElement("span");
      prefix.className = "visually-hidden";
      prefix.textContent = "Status message: ";
      note.append(prefix, document.createTextNode(message));
    });
    setField(root, "status-message-detail", presence.status_message || "—", false);
    root.querySelectorAll('[data-field="out-of-office"]').forEach(function (note) {
      note.hidden = !presence.out_of_office;
      const extra = presence.out_of_office_message ? ": " + presence.out_of_office_message : "";
      note.textContent = "Out of office" + extra;
    });
    const oofDetail = presence.out_of_office
      ? "Yes" + (presence.out_of_office_message ? ": " + presence.out_of_office_message : "")
      : "No";
    setField(root, "out-of-office-detail", oofDetail, false);
    setField(root, "work-location", location, true);
    setField(root, "work-location-detail", location || "—", false);
    root.querySelectorAll('[data-field="since-clock"]').forEach(function (clock) {
      // The list's clock time of the change, in the zone the server rendered it in.
      const changed = Number(presence.changed_at) || 0;
      clock.hidden = !changed;
      clock.textContent = changed
        ? new Date(changed * 1000).toLocaleTimeString([], {
            hour: "2-digit",
            minute: "2-digit",
            hourCycle: "h23",
            timeZone: clock.dataset.timeZone || undefined,
          })
        : "";
    });
    root.dataset.availability = availability;
    if (stale) {
      markOneStale(root);
    }
  }

  function applyPresence(presence, options) {
    if (!presence || typeof presence.person_id !== "string") {
      return;
    }
    const personId = presence.person_id;
    // A snapshot answer can arrive after a newer push (or the other way round): the store's
    // version says which is newer.
    const version = Number(presence.version) || 0;
    if (version && version < (shownVersion.get(personId) || 0)) {
      return;
    }
    if (version) {
      shownVersion.set(personId, version);
    }
    const previous = lastAvailability.get(personId);
    const changed = previous !== undefined && previous !== presence.availability;
    // Learning an unknown presence for the first time is not news worth a highlight.
    const noticeable = changed && previous !== "PresenceUnknown";
    elementsFor(personId).forEach(function (root) {
      drawPresence(root, presence);
      if (noticeable && options.highlight) {
        highlight(root);
      }
    });
    lastAvailability.set(personId, presence.availability);
    if (noticeable) {
      announceChange(personId, presence.availability);
    }
    if (changed && presence.availability === "Available") {
      window.CommsPortalAlerts.pageAlertFor(personId, nameOf(personId));
    }
  }

  // The person page's "Since" is a heading of its own; cards say "since 14:05 (25 min)".
  function sincePrefix(time) {
    return time.dataset.sincePrefix === undefined ? "since " : time.dataset.sincePrefix;
  }

  function refreshSinceTimes() {
    document.querySelectorAll('[data-field="since"]').forEach(function (time) {
      let epoch = Number(time.dataset.epoch);
      if (!epoch && time.getAttribute("datetime")) {
        epoch = Date.parse(time.getAttribute("datetime")) / 1000;
      }
      if (epoch) {
        time.textContent = sincePrefix(time) + sinceText(epoch);
      }
    });
  }

  /* ---------- Reading out changes of the people one follows (opt-in) ---------- */

  function followedIds() {
    return Array.from(new Set(Array.from(followed.favourites.keys()).concat(
      Array.from(followed.waiting.keys()),
    )));
  }

  function followedName(personId) {
    return followed.favourites.get(personId) || followed.waiting.get(personId) || "";
  }

  function announceChange(personId, availability) {
    if (!announcing || !announcer) {
      return;
    }
    const name = followedName(personId);
    if (!name) {
      return;
    }
    // One line a change, added at once: screen readers read each line added, and the page
    // keeps only the last few.
    const line = document.createElement("p");
    line.textContent = name + " is now " + availabilityLabel(availability) + ".";
    announcer.append(line);
    while (announcer.children.length > ANNOUNCE_KEEP) {
      announcer.firstElementChild.remove();
    }
  }

  function follow(kind, personId, name, on) {
    const people = followed[kind];
    if (!people) {
      return;
    }
    if (on) {
      people.set(personId, name || nameOf(personId));
      if (announcing) {
        sendWatch([personId]);
      }
    } else {
      people.delete(personId);
    }
  }

  function readFollowed() {
    const element = document.getElementById("presence-followed");
    if (!element) {
      return;
    }
    try {
      const data = JSON.parse(element.textContent);
      ["favourites", "waiting"].forEach(function (kind) {
        Object.keys(data[kind] || {}).forEach(function (personId) {
          followed[kind].set(personId, data[kind][personId]);
        });
      });
    } catch (error) {
      // Nothing to read out then; the rest of the page works as before.
    }
  }

  function saveAnnouncing(form, toggle) {
    const body = new FormData();
    body.set("csrfmiddlewaretoken", form.querySelector('[name="csrfmiddlewaretoken"]').value);
    body.set("announce", toggle.checked ? "1" : "0");
    return fetch(form.action, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  }

  function initAnnouncing() {
    announcer = document.querySelector("[data-presence-announcer]");
    const form = document.querySelector("[data-announce-form]");
    const toggle = form ? form.querySelector("[data-announce-toggle]") : null;
    readFollowed();
    if (!form || !toggle) {
      return;
    }
    announcing = toggle.checked;
    // The box saves itself; the button is for pages without script.
    form.querySelectorAll("[data-announce-save]").forEach(function (button) {
      button.hidden = true;
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    toggle.addEventListener("change", function () {
      const wanted = toggle.checked;
      saveAnnouncing(form, toggle)
        .then(function (body) {
          announcing = Boolean(body.announce);
          toggle.checked = announcing;
          if (announcing) {
            // Learn where everyone followed stands, so their next change can be told.
            sendWatch(followedIds());
          }
        })
        .catch(function () {
          toggle.checked = !wanted;
          window.CommsPortal.toast("The choice could not be saved. Try again.", {
            level: "error",
          });
        });
    });
    // Stars and bells used on this page change whom to follow.
    document.addEventListener("commsportal:following", function (event) {
      const detail = event.detail || {};
      follow(detail.kind, detail.personId, detail.name, Boolean(detail.on));
    });
    document.addEventListener("commsportal:notice", function (event) {
      const notice = event.detail || {};
      if (notice.kind === "available" && notice.person_id) {
        followed.waiting.delete(notice.person_id); // the one-shot alert is spent
      }
    });
  }

  /* ---------- Snapshot and watching ---------- */

  function watchedIds() {
    const ids = new Set(onScreen);
    if (announcing) {
      followedIds().forEach(function (personId) {
        ids.add(personId);
      });
    }
    return Array.from(ids).slice(0, MAX_WATCHED);
  }

  function fetchSnapshot(ids) {
    const chunks = [];
    for (let start = 0; start < ids.length; start += SNAPSHOT_CHUNK) {
      chunks.push(ids.slice(start, start + SNAPSHOT_CHUNK));
    }
    return Promise.all(
      chunks.map(function (chunk) {
        const url = snapshotUrl + "?ids=" + encodeURIComponent(chunk.join(","));
        return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) {
            return response.ok ? response.json() : null;
          })
          .then(function (body) {
            if (!body || !body.presence) {
              return false;
            }
            Object.keys(body.presence).forEach(function (personId) {
              applyPresence(body.presence[personId], { highlight: true });
            });
            return true;
          })
          .catch(function () {
            // The socket's reconnect loop reports connection trouble; nothing to add here.
            return false;
          });
      }),
    ).then(function (results) {
      return results.every(Boolean);
    });
  }

  // People whose snapshot is read once the server confirms it watches them: read earlier, a
  // change landing between the read and the confirmation would be missed until the next resync.
  const snapshotAfterWatch = new Set();

  function sendWatch(snapshotIds) {
    snapshotIds.forEach(function (personId) {
      snapshotAfterWatch.add(personId);
    });
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    const wait = watchHeldUntil - Date.now();
    if (wait > 0) {
      // The server allows so many watch messages a minute: send the latest once it may.
      if (heldWatchTimer === null) {
        heldWatchTimer = setTimeout(function () {
          heldWatchTimer = null;
          sendWatch([]);
        }, wait);
      }
      return;
    }
    const topics = watchedIds().map(function (personId) {
      return PRESENCE_TOPIC + personId;
    });
    socket.send(JSON.stringify({ type: "watch", topics: topics }));
  }

  function holdWatches(seconds) {
    watchHeldUntil = Date.now() + seconds * 1000;
    sendWatch([]);
  }

  function watchConfirmed() {
    setStatus("live", "Live");
    const wasStale = stale;
    // Out of date: everyone watched is read again, not only those new since the last watch,
    // so the marks come off only once all of them were read on this connection.
    const ids = wasStale ? watchedIds() : Array.from(snapshotAfterWatch);
    snapshotAfterWatch.clear();
    const reading = socket;
    const read = ids.length ? fetchSnapshot(ids) : Promise.resolve(true);
    read.then(function (complete) {
      // Everyone shown has been read again since the connection came back, and it stayed up.
      if (wasStale && complete && socket === reading && socket.readyState === WebSocket.OPEN) {
        clearStale();
      }
    });
  }

  function scheduleWatch(newIds) {
    clearTimeout(watchTimer);
    watchTimer = setTimeout(function () {
      sendWatch(newIds.splice(0));
    }, WATCH_DEBOUNCE_MS);
  }

  const pendingSnapshot = [];

  function observeCards(root) {
    const found = Array.from(root.querySelectorAll("[data-presence-id]"));
    if (root.matches && root.matches("[data-presence-id]")) {
      found.push(root);
    }
    found.forEach(function (element) {
      if (stale) {
        markOneStale(element);
      }
      if (cardObserver) {
        cardObserver.observe(element);
      } else {
        onScreen.add(element.dataset.presenceId);
      }
    });
  }

  function initWatching() {
    if ("IntersectionObserver" in window) {
      cardObserver = new IntersectionObserver(
        function (entries) {
          entries.forEach(function (entry) {
            const personId = entry.target.dataset.presenceId;
            if (entry.isIntersecting) {
              if (!onScreen.has(personId)) {
                onScreen.add(personId);
                pendingSnapshot.push(personId);
              }
            } else if (!stillShown(personId, entry.target)) {
              onScreen.delete(personId);
            }
          });
          scheduleWatch(pendingSnapshot);
        },
        { rootMargin: "200px 0px" },
      );
    }
    observeCards(document);
  }

  function stillShown(personId, leavingElement) {
    // The same person may appear twice (a card and a manager link); keep them while one shows.
    return Array.from(elementsFor(personId)).some(function (element) {
      if (element === leavingElement) {
        return false;
      }
      const box = element.getBoundingClientRect();
      return box.bottom > -200 && box.top < window.innerHeight + 200 && !element.hidden;
    });
  }

  /* ---------- The socket ---------- */

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + socketPath;
  }

  function connect() {
    reconnectTimer = null;
    if (leaving || signedOut) {
      return;
    }
    const current = new WebSocket(socketUrl());
    socket = current;
    current.addEventListener("open", function () {
      attempt = 0;
      lastHeard = Date.now();
      sendWatch(watchedIds());
    });
    current.addEventListener("message", function (event) {
      if (socket !== current) {
        return; // given up on (offline, silent): what it still says is not news of now
      }
      lastHeard = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type === "pong") {
        return;
      }
      if (message.type === "watching") {
        watchConfirmed();
      } else if (message.type === "presence") {
        applyPresence(message.presence, { highlight: true });
      } else if (message.type === "notice") {
        window.CommsPortalAlerts.showNotice(message.notice);
      } else if (message.type === "resync") {
        // The server's link to Redis dropped and came back: changes may have been missed.
        snapshotAfterWatch.clear();
        watchedIds().forEach(function (personId) {
          snapshotAfterWatch.add(personId);
        });
        watchConfirmed();
      } else if (message.type === "unavailable") {
        // The server cannot reach Redis for now; it sends "resync" once it can again.
        markStale();
        setStatus("reconnecting", "Reconnecting…");
      } else if (message.type === "error" && message.retry_after && message.refused !== "ping") {
        // Too many watch messages: this one was ignored, so send it again when allowed. (A
        // refused ping needs nothing: the answer itself shows the connection is alive.)
        holdWatches(Number(message.retry_after) || 1);
      }
    });
    current.addEventListener("close", function (event) {
      if (socket !== current) {
        return;
      }
      socket = null;
      if (leaving) {
        return;
      }
      markStale();
      if (event.code === CLOSE_UNAUTHENTICATED) {
        signedOut = true;
        showSignedOut(event.reason);
        return;
      }
      if (event.code === CLOSE_TOO_MANY_SOCKETS) {
        // Nothing changes until another page closes: try again, but slowly.
        attempt = Math.max(attempt, 5);
        scheduleReconnect(TOO_MANY_SOCKETS_TEXT);
        return;
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect(statusText) {
    if (reconnectTimer !== null || leaving || signedOut) {
      return;
    }
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
    // Jitter spreads many pages reconnecting after a server restart.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    attempt += 1;
    setStatus("reconnecting", statusText || "Reconnecting…");
    reconnectTimer = setTimeout(connect, delay);
  }

  /** Give up on a socket that looks open but is not (offline, or silent past the limit). */
  function dropSocket() {
    const current = socket;
    if (current === null) {
      return;
    }
    socket = null;
    try {
      current.close();
    } catch (error) {
      // Closing a socket that is already gone has nothing left to do.
    }
    markStale();
    scheduleReconnect();
  }

  function heartbeat() {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    const quiet = Date.now() - lastHeard;
    if (quiet > SILENCE_LIMIT_MS) {
      dropSocket();
    } else if (quiet >= PING_EVERY_MS) {
      socket.send(JSON.stringify({ type: "ping" }));
    }
  }

  function wentOffline() {
    dropSocket();
    markStale();
    setStatus("reconnecting", "Reconnecting…");
  }

  function cameOnline() {
    attempt = 0;
    reconnectNow();
  }

  function reconnectNow() {
    if (socket === null && reconnectTimer !== null && !leaving && !signedOut) {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      connect();
    }
  }

  /* ---------- Start ---------- */

  function readLabels() {
    const element = document.getElementById("presence-labels");
    if (element) {
      try {
        labels = JSON.parse(element.textContent);
      } catch (error) {
        // Keep the built-in fallbacks: raw Graph values are still readable.
      }
    }
  }

  function init() {
    statusElement = document.querySelector("[data-live-status]");
    if (!statusElement) {
      return;
    }
    socketPath = statusElement.dataset.socketPath;
    snapshotUrl = statusElement.dataset.snapshotUrl;
    readLabels();
    initAnnouncing();
    document.querySelectorAll("[data-presence-id]").forEach(function (element) {
      // Remember what the server rendered, so the first push can tell a real change.
      if (element.dataset.availability) {
        lastAvailability.set(element.dataset.presenceId, element.dataset.availability);
      }
    });
    initWatching();
    setInterval(refreshSinceTimes, SINCE_REFRESH_MS);
    setInterval(function () {
      if (socket && socket.readyState === WebSocket.OPEN) {
        // Watching again heals the server's subscriptions should they be lost; the snapshot
        // read after it repairs anything missed meanwhile.
        sendWatch(watchedIds());
      }
    }, RESYNC_EVERY_MS);
    window.addEventListener("online", cameOnline);
    window.addEventListener("offline", wentOffline);
    setInterval(heartbeat, PING_EVERY_MS);
    window.addEventListener("pagehide", function () {
      leaving = true;
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        leaving = false;
        connect();
      }
    });
    setStatus("connecting", "Connecting…");
    connect();
  }

  // For the wall's list script (cards it adds get watched) and for diagnosing the
  // connection from the console.
  window.CommsPortalPresence = Object.freeze({
    connection: function () {
      return socket;
    },
    observe: observeCards,
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
