/*
 * The people wall's list: instant filtering of the loaded cards by name, endless scrolling
 * (the next page of cards loads as the end comes into view, or by the "Show more people"
 * button), and favourite stars saved without leaving the page. Live presence of the cards
 * is presence-wall.js's job; cards added here are handed to it. Loaded with `defer`.
 */
(function () {
  "use strict";

  function applyInstantFilter() {
    const input = document.querySelector("[data-instant-filter]");
    const empty = document.querySelector("[data-filter-empty]");
    if (!input) {
      return;
    }
    const text = input.value.trim().toLowerCase();
    let shown = 0;
    document.querySelectorAll("[data-person-card]").forEach(function (card) {
      const match = text === "" || (card.dataset.name || "").indexOf(text) !== -1;
      card.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    if (empty) {
      empty.hidden = shown > 0 || text === "";
    }
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
        initFavouriteForms(fragment);
        const nextSentinel = fragment.querySelector("[data-wall-more]");
        const added = document.createElement("div");
        added.append(fragment);
        const nodes = Array.from(added.childNodes);
        sentinel.replaceWith.apply(sentinel, nodes);
        nodes.forEach(function (node) {
          if (node.nodeType === Node.ELEMENT_NODE && node.dataset.presenceId) {
            window.CommsPortalPresence.observe(node);
          }
        });
        applyInstantFilter();
        if (nextSentinel) {
          initLoadMore(nextSentinel);
        }
      })
      .catch(function () {
        sentinel.dataset.loading = "false";
        window.CommsPortal.toast("More people could not be loaded. Try again.", {
          level: "warning",
        });
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
          if (entries.some((entry) => entry.isIntersecting)) {
            observer.disconnect();
            loadMore(sentinel);
          }
        },
        { rootMargin: "600px 0px" },
      );
      observer.observe(sentinel);
    }
  }

  function initFavouriteForms(root) {
    root.querySelectorAll("[data-favourite-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const button = form.querySelector("button");
        const flag = form.querySelector('input[name="favourite"]');
        button.disabled = true;
        fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        })
          .then(function (response) {
            if (!response.ok) {
              throw new Error("HTTP " + response.status);
            }
            return response.json();
          })
          .then(function (body) {
            const on = Boolean(body.favourite);
            button.setAttribute("aria-pressed", on ? "true" : "false");
            button.title = on ? "Remove from favourites" : "Add to favourites";
            flag.value = on ? "0" : "1";
            const card = form.closest("[data-person-card]");
            if (card) {
              card.classList.toggle("is-favourite", on);
            }
          })
          .catch(function () {
            window.CommsPortal.toast("The favourite could not be saved. Try again.", {
              level: "error",
            });
          })
          .finally(function () {
            button.disabled = false;
          });
      });
    });
  }

  function init() {
    initFavouriteForms(document);
    initLoadMore(document.querySelector("[data-wall-more]"));
    const filter = document.querySelector("[data-instant-filter]");
    if (filter) {
      filter.addEventListener("input", applyInstantFilter);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
