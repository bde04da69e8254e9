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

  function initFavouriteForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const button = form.querySelector("button");
      const flag = form.querySelector('input[name="favourite"]');
      // Not disabled while saving: a disabled button loses the keyboard focus.
      if (button.getAttribute("aria-busy") === "true") {
        return;
      }
      button.setAttribute("aria-busy", "true");
      postForm(form)
        .then(function (body) {
          const on = Boolean(body.favourite);
          button.setAttribute("aria-pressed", on ? "true" : "false");
          button.title = on ? "Remove from favourites" : "Add to favourites";
          flag.value = on ? "0" : "1";
          const card = form.closest("[data-person-card]");
          if (card) {
            card.classList.toggle("is-favourite", on);
          }
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
          showWaiting(form, Boolean(body.alert));
          following(form, "waiting", body.person_id, Boolean(body.alert));
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

  /** Put a new result (the HTML of the wall's results section) in place of the shown one. */
  function replaceResults(html) {
    const current = document.querySelector("[data-wall-results]");
    const template = document.createElement("template");
    template.innerHTML = html;
    const fresh = template.content.querySelector("[data-wall-results]");
    if (!current || !fresh) {
      return null;
    }
    initPeople(fresh);
    current.replaceWith(fresh);
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
