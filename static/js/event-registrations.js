/* The live registration table of an event's console.
 *
 * The socket (/ws/live/) watches the event's topic; each registration message updates or adds
 * its row and the counts. Every 30 seconds, and whenever the socket is down, the page asks the
 * server for the first page again, so nothing is missed when a message is. */
(function () {
  "use strict";
  const section = document.querySelector("[data-registrations]");
  if (!section) return;
  const topic = section.dataset.topic;
  const rowsUrl = section.dataset.rowsUrl;
  const body = section.querySelector("[data-rows]");
  const note = section.querySelector("[data-live-note]");
  const announcer = section.querySelector("[data-table-announcer]");
  const bar = section.querySelector("[data-capacity-bar]");
  const filters = new URLSearchParams(window.location.search);
  const filtered = Boolean(filters.get("q") || filters.get("status") || (filters.get("page") && filters.get("page") !== "1"));
  const POLL_MS = 30000;
  let socket = null;
  let retry = 1000;

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function timeCell(iso) {
    const td = document.createElement("td");
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    td.appendChild(time);
    return td;
  }

  function rowFor(reg) {
    const tr = document.createElement("tr");
    tr.dataset.registrationId = reg.id;
    tr.appendChild(cell(reg.name));
    tr.appendChild(cell(reg.email));
    const status = cell(reg.statusLabel);
    status.dataset.status = reg.status;
    tr.appendChild(status);
    tr.appendChild(timeCell(reg.registeredAt));
    tr.appendChild(cell(reg.answers.map(function (a) { return a.question + ": " + a.answer; }).join("; ")));
    tr.appendChild(cell(""));
    return tr;
  }

  function showCounts(counts) {
    Object.keys(counts).forEach(function (status) {
      const span = section.querySelector('[data-count="' + status + '"]');
      if (span) span.textContent = String(counts[status]);
    });
    if (bar && typeof counts.registered === "number") bar.value = counts.registered;
  }

  function apply(reg) {
    const empty = body.querySelector("[data-empty]");
    if (empty) empty.remove();
    const existing = body.querySelector('tr[data-registration-id="' + CSS.escape(reg.id) + '"]');
    if (existing) {
      const status = existing.querySelector("[data-status]");
      if (status) {
        status.dataset.status = reg.status;
        status.textContent = reg.statusLabel;
      }
      return;
    }
    if (filtered) return; // a search or another page: the new row may not belong here
    body.insertBefore(rowFor(reg), body.firstChild);
    if (announcer) announcer.textContent = reg.name + " " + reg.statusLabel.toLowerCase();
  }

  function poll() {
    fetch(rowsUrl + window.location.search, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) return;
        showCounts(data.counts);
        data.rows.slice().reverse().forEach(apply);
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/live/");
    socket.addEventListener("open", function () {
      retry = 1000;
      socket.send(JSON.stringify({ type: "watch", topics: [topic] }));
    });
    socket.addEventListener("message", function (event) {
      let message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "watching") {
        if (note) note.textContent = "Live: new registrations appear as they arrive.";
        section.dataset.live = "on";
      } else if (message.type === "registration") {
        apply(message.registration);
        showCounts(message.counts);
      } else if (message.type === "event") {
        const status = document.querySelector("[data-event-status]");
        const words = { draft: "Draft", published: "Published", canceled: "Canceled" };
        if (status && words[message.status]) status.textContent = words[message.status];
      } else if (message.type === "resync") {
        poll();
      }
    });
    socket.addEventListener("close", function () {
      section.dataset.live = "off";
      if (note) note.textContent = "Reconnecting; the table is refreshed every half minute meanwhile.";
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
      poll();
    });
  }

  window.setInterval(poll, POLL_MS);
  connect();
})();
