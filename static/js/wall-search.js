/*
 * The wall's search and display controls. Typing asks the server (debounced) and shows its
 * answer in place, the same search Apply runs: name, job title, department and e-mail,
 * typos forgiven. The count ("8 people match") or the no-match message goes to a polite
 * live region. "/" focuses the search from anywhere but another field; Escape clears it.
 * The view (cards or list), sort and grouping are saved for the person and applied at once;
 * a list column's sort button keeps the focus. Loaded with `defer`, after people-list.js.
 */
(function () {
  "use strict";

  const DEBOUNCE_MS = 250;
  let filters = null;
  let search = null;
  let count = null;
  let displayForm = null;
  let timer = null;
  let pending = null;

  function queryString() {
    const params = new URLSearchParams();
    new FormData(filters).forEach(function (value, name) {
      if (value !== "") {
        params.append(name, value);
      }
    });
    return params.toString();
  }

  function typingElsewhere(target) {
    if (!target || target === search) {
      return false;
    }
    const tag = target.tagName;
    return (
      tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable
    );
  }

  /** Run the search now: replace the shown people with the server's answer. */
  function requery(focusSort) {
    clearTimeout(timer);
    if (pending) {
      pending.abort();
    }
    const controller = new AbortController();
    pending = controller;
    const query = queryString();
    const url = filters.dataset.cardsUrl + (query ? "?" + query : "");
    const askedAt = performance.now();
    return fetch(url, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
      signal: controller.signal,
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (pending !== controller) {
          return;
        }
        pending = null;
        const fresh = window.CommsPortalWall.replaceResults(html, askedAt);
        if (!fresh) {
          return;
        }
        count.textContent = fresh.dataset.countText || "";
        const address = window.location.pathname + (query ? "?" + query : "");
        window.history.replaceState(null, "", address);
        const next = displayForm && displayForm.querySelector("[data-wall-next]");
        if (next) {
          next.value = address;
        }
        if (focusSort) {
          const button = fresh.querySelector('[data-sort-column="' + CSS.escape(focusSort) + '"]');
          if (button) {
            button.focus();
          }
        }
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          window.CommsPortal.toast("The search could not be run. Try again.", { level: "error" });
        }
      });
  }

  function requerySoon() {
    clearTimeout(timer);
    timer = setTimeout(requery, DEBOUNCE_MS);
  }

  function saveDisplay(extra, focusSort) {
    const body = new FormData(displayForm);
    Object.keys(extra).forEach(function (name) {
      body.set(name, extra[name]);
    });
    return fetch(displayForm.action, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (chosen) {
        const sort = displayForm.querySelector('[name="sort"]');
        if (sort) {
          sort.value = chosen.sort;
        }
        return requery(focusSort);
      })
      .catch(function () {
        window.CommsPortal.toast("The view could not be changed. Try again.", { level: "error" });
      });
  }

  function initDisplay() {
    displayForm = document.querySelector("[data-wall-display]");
    if (!displayForm) {
      return;
    }
    // Every change applies at once, so the form's own button is for pages without script.
    const submit = displayForm.querySelector("[data-display-submit]");
    if (submit) {
      submit.hidden = true;
    }
    displayForm.addEventListener("change", function () {
      saveDisplay({});
    });
    displayForm.addEventListener("submit", function (event) {
      event.preventDefault();
      saveDisplay({});
    });
    // The list's column buttons live in the results, which the search replaces.
    document.addEventListener("click", function (event) {
      const button = event.target.closest("[data-sort-column]");
      if (!button) {
        return;
      }
      event.preventDefault();
      saveDisplay({ sort_column: button.dataset.sortColumn }, button.dataset.sortColumn);
    });
  }

  /* ---------- Phones: the filters and the view behind one disclosure button ---------- */

  function filtersOn() {
    let on = 0;
    filters.querySelectorAll("[data-filter-panel] select, [data-filter-panel] input").forEach(
      function (field) {
        if (field.type === "checkbox" ? field.checked : field.value && field.value !== "all") {
          on += 1;
        }
      },
    );
    return on;
  }

  function initFiltersToggle() {
    const toggle = document.querySelector("[data-filters-toggle]");
    if (!toggle) {
      return;
    }
    const panels = toggle
      .getAttribute("aria-controls")
      .split(/\s+/)
      .map(function (id) {
        return document.getElementById(id);
      })
      .filter(Boolean);
    const note = toggle.querySelector("[data-filters-on]");

    function showCount() {
      const on = filtersOn();
      if (note) {
        note.textContent = on ? "(" + on + " on)" : "";
      }
    }

    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      panels.forEach(function (panel) {
        panel.dataset.state = open ? "open" : "closed";
      });
    }

    // Without this script every filter simply stays in view. The panels fold only where the
    // style sheet says (narrow screens); wider ones ignore the state and hide the button.
    toggle.hidden = false;
    setOpen(false);
    showCount();
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    filters.addEventListener("change", showCount);
  }

  function init() {
    filters = document.querySelector("[data-wall-filters]");
    search = document.querySelector("[data-wall-search]");
    count = document.querySelector("[data-wall-count]");
    if (!filters || !search || !count) {
      return;
    }
    search.addEventListener("input", requerySoon);
    filters.addEventListener("change", function (event) {
      if (event.target !== search) {
        requery();
      }
    });
    filters.addEventListener("submit", function (event) {
      event.preventDefault();
      requery();
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && search.value !== "") {
        event.preventDefault();
        search.value = "";
        requery();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (
        event.key !== "/" ||
        event.ctrlKey ||
        event.metaKey ||
        event.altKey ||
        event.defaultPrevented ||
        typingElsewhere(event.target) ||
        document.activeElement === search
      ) {
        return;
      }
      event.preventDefault();
      search.focus();
      search.select();
    });
    initDisplay();
    initFiltersToggle();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
