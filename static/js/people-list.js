/*
 * The people wall's list, cards or rows alike: endless scrolling (the next page loads as the
 * end comes into view, or by the "Show more people" button), each person's actions (favourite
 * star and availability bell saved without leaving the page, focus kept on the button;
 * e-mail copied to the clipboard) and their toolbar, one Tab stop that the arrow keys move
 * through. Live presence is presence-wall.js's job: people added here are handed to it.
 * window.CommsPortalWall.replaceResults lets the search (wall-search.js) swap the whole
 * result. Loaded with `defer`.
 */
(function () {
  "use strict";

  function toast(message, level) {
    window.CommsPortal.toast(message, { level: level || "info" });
  }

  function postForm(form) {
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  }

  /* ---------- Actions ---------- */

  /** Tell the live script whom the person now follows (it may read out their changes). */
  function following(form, kind, personId, on) {
    const holder = form.closest("[data-display-name]");
    document.dispatchEvent(
      new CustomEvent("commsportal:following", {
        detail: {
          kind: kind,
          personId: personId,
          name: holder ? holder.dataset.displayName : "",
          on: on,
        },
      }),
    );
  }

  // What this page last saved, per form address ("favourite" or "alert" of one person), and
  // when: a result the search fetched before a save finished was drawn without it.
  const saved = new Map();

  function formsLike(form, selector) {
    const action = form.getAttribute("action");
    return Array.from(document.querySelectorAll(selector)).filter(function (other) {
      return other.getAttribute("action") === action;
    });
  }

  function showFavourite(form, on) {
    const button = form.querySelector("button");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.title = on ? "Remove from favourites" : "Add to favourites";
    form.querySelector('input[name="favourite"]').value = on ? "0" : "1";
    const card = form.closest("[data-person-card]");
    if (card) {
      card.classList.toggle("is-favourite", on);
    }
  }

  function initFavouriteForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const button = form.querySelector("button");
      // Not disabled while saving: a disabled button loses the keyboard focus.
      if (button.getAttribute("aria-busy") === "true") {
        return;
      }
      button.setAttribute("aria-busy", "true");
      postForm(form)
        .then(function (body) {
          const on = Boolean(body.favourite);
          saved.set(form.getAttribute("action"), { on: on, at: performance.now() });
          // Every star of that person, including one drawn afresh while this one saved.
          formsLike(form, "[data-favourite-form]").concat([form]).forEach(function (each) {
            showFavourite(each, on);
          });
          following(form, "favourites", body.person_id, on);
        })
        .catch(function () {
          toast("The favourite could not be saved. Try again.", "error");
        })
        .finally(function () {
          button.removeAttribute("aria-busy");
        });
    });
  }

  function showWaiting(form, waiting) {
    const button = form.querySelector("[data-alert-button]");
    const state = form.querySelector("[data-alert-state]");
    button.setAttribute("aria-pressed", waiting ? "true" : "false");
    button.title = waiting ? "Waiting: you will be told when available" : "Tell me when available";
    form.querySelector('input[name="alert"]').value = waiting ? "0" : "1";
    if (state) {
      state.hidden = !waiting;
    }
  }

  function initAlertForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const button = form.querySelector("[data-alert-button]");
      if (button.getAttribute("aria-busy") === "true") {
        return;
      }
      button.setAttribute("aria-busy", "true");
      postForm(form)
        .then(function (body) {
          const waiting = Boolean(body.alert);
          saved.set(form.getAttribute("action"), { on: waiting, at: performance.now() });
          formsLike(form, "[data-alert-form]").concat([form]).forEach(function (each) {
            showWaiting(each, waiting);
          });
          following(form, "waiting", body.person_id, waiting);
          toast(body.message, "success");
        })
        .catch(function () {
          toast("The alert could not be saved. Try again.", "error");
        })
        .finally(function () {
          button.removeAttribute("aria-busy");
        });
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Older browsers and pages served over plain http: the selection way.
    return new Promise(function (resolve, reject) {
      const field = document.createElement("textarea");
      field.value = text;
      field.setAttribute("readonly", "");
      field.className = "visually-hidden";
      document.body.append(field);
      field.select();
      const done = document.execCommand("copy");
      field.remove();
      if (done) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  function initCopyButton(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      const address = button.dataset.copyEmail;
      copyText(address)
        .then(function () {
          toast("Copied " + address + ".", "success");
        })
        .catch(function () {
          toast("The address could not be copied; it is " + address + ".", "warning");
        });
    });
  }

  /* ---------- Toolbars: one Tab stop each, arrows move inside ---------- */

  function toolbarItems(toolbar) {
    return Array.from(toolbar.querySelectorAll("a, button")).filter(function (item) {
      return !item.hidden;
    });
  }

  function initToolbar(toolbar) {
    const items = toolbarItems(toolbar);
    items.forEach(function (item, index) {
      item.tabIndex = index === 0 ? 0 : -1;
    });
    toolbar.addEventListener("focusin", function (event) {
      // Tab comes back to the action used last.
      toolbarItems(toolbar).forEach(function (item) {
        item.tabIndex = item === event.target ? 0 : -1;
      });
    });
    toolbar.addEventListener("keydown", function (event) {
      const current = toolbarItems(toolbar);
      const at = current.indexOf(document.activeElement);
      if (at === -1) {
        return;
      }
      let next = -1;
      if (event.key === "ArrowRight" || event.key === "ArrowDown") {
        next = (at + 1) % current.length;
      } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
        next = (at - 1 + current.length) % current.length;
      } else if (event.key === "Home") {
        next = 0;
      } else if (event.key === "End") {
        next = current.length - 1;
      }
      if (next !== -1) {
        event.preventDefault();
        current[next].focus();
      }
    });
  }

  function initPeople(root) {
    root.querySelectorAll("[data-favourite-form]").forEach(initFavouriteForm);
    root.querySelectorAll("[data-alert-form]").forEach(initAlertForm);
    root.querySelectorAll("[data-copy-email]").forEach(initCopyButton);
    // After the copy buttons show, so the toolbar counts them.
    root.querySelectorAll("[data-actions]").forEach(initToolbar);
  }

  /* ---------- Scrolling ---------- */

  function lastGroup() {
    const groups = document.querySelectorAll("[data-wall-items] [data-group]");
    return groups.length ? groups[groups.length - 1].dataset.group : "";
  }

  function loadMore(sentinel) {
    if (sentinel.dataset.loading === "true") {
      return;
    }
    sentinel.dataset.loading = "true";
    const askedAt = performance.now();
    fetch(sentinel.dataset.next, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        const template = document.createElement("template");
        template.innerHTML = html;
        const fragment = template.content;
        // A group running on from the page before keeps its one heading.
        const heading = fragment.querySelector(".wall-group");
        if (heading && heading.dataset.group === lastGroup()) {
          heading.remove();
        }
        initPeople(fragment);
        applySaved(fragment, askedAt);
        const nextSentinel = fragment.querySelector("[data-wall-more]");
        const nodes = Array.from(fragment.childNodes);
        sentinel.replaceWith.apply(sentinel, nodes);
        nodes.forEach(function (node) {
          if (node.nodeType === Node.ELEMENT_NODE && node.dataset.presenceId) {
            window.CommsPortalPresence.observe(node);
          }
        });
        if (nextSentinel) {
          initLoadMore(nextSentinel);
        }
      })
      .catch(function () {
        sentinel.dataset.loading = "false";
        toast("More people could not be loaded. Try again.", "warning");
      });
  }

  function initLoadMore(sentinel) {
    if (!sentinel) {
      return;
    }
    const link = sentinel.querySelector("a");
    if (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        loadMore(sentinel);
      });
    }
    if ("IntersectionObserver" in window) {
      const observer = new IntersectionObserver(
        function (entries) {
          if (
            entries.some(function (entry) {
              return entry.isIntersecting;
            })
          ) {
            observer.disconnect();
            loadMore(sentinel);
          }
        },
        { rootMargin: "600px 0px" },
      );
      observer.observe(sentinel);
    }
  }

  /** Apply what this page saved after ``askedAt`` to people drawn from an older answer. */
  function applySaved(root, askedAt) {
    root.querySelectorAll("[data-favourite-form]").forEach(function (form) {
      const known = saved.get(form.getAttribute("action"));
      if (known && known.at > askedAt) {
        showFavourite(form, known.on);
      }
    });
    root.querySelectorAll("[data-alert-form]").forEach(function (form) {
      const known = saved.get(form.getAttribute("action"));
      if (known && known.at > askedAt) {
        showWaiting(form, known.on);
      }
    });
  }

  // The control of a person's card or row that has the focus, as a selector to find it again
  // in a new result: the person's id and which of their controls it is.
  const CONTROLS = [
    ".favourite-button",
    "[data-alert-button]",
    "[data-copy-email]",
    '[data-action="chat"]',
    '[data-action="call"]',
    '[data-action="video"]',
    ".person-name a",
    ".cell-name a",
  ];

  function focusedControl(current) {
    const focused = document.activeElement;
    if (!focused || !current.contains(focused)) {
      return null;
    }
    const holder = focused.closest("[data-presence-id]");
    const control = CONTROLS.find(function (selector) {
      return focused.matches(selector);
    });
    return holder && control ? { personId: holder.dataset.presenceId, control: control } : null;
  }

  function refocus(fresh, was) {
    const holder = fresh.querySelector(
      '[data-presence-id="' + CSS.escape(was.personId) + '"]',
    );
    const control = holder ? holder.querySelector(was.control) : null;
    // The person left the result: the focus goes to the result rather than the page's top.
    (control || fresh).focus();
  }

  /**
   * Put a new result (the HTML of the wall's results section) in place of the shown one.
   * ``askedAt`` (performance.now() when it was asked for) tells which saves it may lack; the
   * control that had the focus keeps it, in its new copy.
   */
  function replaceResults(html, askedAt) {
    const current = document.querySelector("[data-wall-results]");
    const template = document.createElement("template");
    template.innerHTML = html;
    const fresh = template.content.querySelector("[data-wall-results]");
    if (!current || !fresh) {
      return null;
    }
    initPeople(fresh);
    applySaved(fresh, askedAt || 0);
    const was = focusedControl(current);
    current.replaceWith(fresh);
    if (was) {
      refocus(fresh, was);
    }
    if (window.CommsPortalPresence) {
      window.CommsPortalPresence.observe(fresh);
    }
    initLoadMore(fresh.querySelector("[data-wall-more]"));
    return fresh;
  }

  function init() {
    initPeople(document);
    initLoadMore(document.querySelector("[data-wall-more]"));
  }

  window.CommsPortalWall = Object.freeze({ replaceResults: replaceResults, showWaiting: showWaiting });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
