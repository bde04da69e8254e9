/*
 * The people picker (directory/_people_picker.html): a combobox that searches the directory
 * as one types, after the WAI-ARIA combobox pattern with a listbox popup. Up and Down move
 * through the people found, Enter picks one, Escape closes the list and then clears the text.
 * In "multi" mode picked people become chips (each with a "Remove <name>" button) and their
 * ids, comma-separated, the value of a hidden form field; in "jump" mode picking a person
 * opens their page. Loaded with `defer`.
 */
(function () {
  "use strict";

  const DEBOUNCE_MS = 200;
  const LIMIT = 10;
  const CACHE_SIZE = 30;
  const REMOVE_ICON =
    '<svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">' +
    '<path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" stroke-width="1.8" ' +
    'stroke-linecap="round" fill="none"/></svg>';

  function people(count) {
    return count === 1 ? "1 person" : count + " people";
  }

  function photo(url, size) {
    const image = document.createElement("img");
    image.className = "people-picker-photo";
    image.src = url;
    image.alt = "";
    image.width = size;
    image.height = size;
    image.loading = "lazy";
    return image;
  }

  function initPicker(root) {
    const input = root.querySelector("[data-picker-input]");
    const popup = root.querySelector("[data-picker-popup]");
    const listbox = root.querySelector("[data-picker-listbox]");
    const message = root.querySelector("[data-picker-message]");
    const status = root.querySelector("[data-picker-status]");
    const value = root.querySelector("[data-picker-value]");
    const chips = root.querySelector("[data-picker-chips]");
    const multi = root.dataset.mode === "multi";
    const searchUrl = root.dataset.searchUrl;
    const jumpUrl = root.dataset.jumpUrl || "";
    if (!input || !popup || !listbox || !message || !status) {
      return;
    }

    const cache = new Map();
    let results = [];
    let active = -1;
    let timer = null;
    let sequence = 0;
    let controller = null;
    let highlightWhenFound = 0;

    function announce(text) {
      // Emptied first, so that the same words twice in a row are still read out.
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = text;
      }, 50);
    }

    function chosenIds() {
      if (!chips) {
        return [];
      }
      return Array.from(chips.querySelectorAll("[data-person-id]")).map(function (chip) {
        return chip.dataset.personId;
      });
    }

    function setActive(index) {
      const options = listbox.querySelectorAll('[role="option"]');
      active = index;
      options.forEach(function (option, position) {
        option.setAttribute("aria-selected", position === index ? "true" : "false");
      });
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      popup.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function showMessage(text) {
      listbox.replaceChildren();
      results = [];
      message.textContent = text;
      message.hidden = false;
      popup.hidden = false;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function option(person, index) {
      const item = document.createElement("li");
      item.className = "people-picker-option";
      item.id = listbox.id + "-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.dataset.index = String(index);
      const text = document.createElement("span");
      text.className = "people-picker-text";
      const name = document.createElement("span");
      name.className = "people-picker-name";
      name.textContent = person.name;
      text.append(name);
      const role = [person.jobTitle, person.department].filter(Boolean).join(" · ");
      if (role) {
        const separator = document.createElement("span");
        separator.className = "visually-hidden";
        separator.textContent = ", ";
        const detail = document.createElement("span");
        detail.className = "people-picker-detail";
        detail.textContent = role;
        text.append(separator, detail);
      }
      if (multi && chosenIds().indexOf(person.id) !== -1) {
        item.setAttribute("aria-disabled", "true");
        const hint = document.createElement("span");
        hint.className = "people-picker-detail";
        hint.textContent = "Already chosen";
        text.append(hint);
      }
      item.append(photo(person.photoUrl, 32), text);
      return item;
    }

    function show(text, body) {
      results = body.results;
      if (results.length === 0) {
        showMessage("No one matches “" + text + "”.");
        announce("No one matches “" + text + "”.");
        return;
      }
      message.hidden = true;
      listbox.replaceChildren.apply(listbox, results.map(option));
      popup.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(-1);
      if (highlightWhenFound !== 0) {
        setActive(highlightWhenFound > 0 ? 0 : results.length - 1);
        highlightWhenFound = 0;
      }
      const shown = people(results.length);
      announce(
        body.count > results.length
          ? "Showing " + results.length + " of " + people(body.count) + "; type more to narrow."
          : shown + " found.",
      );
    }

    function failed(response) {
      const text =
        response && response.status === 401
          ? "Sign in again to search the directory."
          : "The directory could not be searched. Try again.";
      showMessage(text);
      announce(text);
    }

    function search() {
      timer = null;
      const text = input.value.trim();
      if (text === "") {
        close();
        return;
      }
      if (cache.has(text)) {
        show(text, cache.get(text));
        return;
      }
      if (controller) {
        controller.abort();
      }
      controller = new AbortController();
      const mine = ++sequence;
      const query = new URLSearchParams({ q: text, limit: String(LIMIT) });
      fetch(searchUrl + "?" + query.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      })
        .then(function (response) {
          if (!response.ok) {
            throw response;
          }
          return response.json();
        })
        .then(function (body) {
          if (cache.size >= CACHE_SIZE) {
            cache.delete(cache.keys().next().value);
          }
          cache.set(text, body);
          // Only the answer to what the box says now is shown.
          if (mine === sequence && input.value.trim() === text) {
            show(text, body);
          }
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") {
            return;
          }
          if (mine === sequence) {
            failed(error instanceof Response ? error : null);
          }
        });
    }

    function searchSoon() {
      if (timer !== null) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(search, DEBOUNCE_MS);
    }

    function searchNow() {
      if (timer !== null) {
        window.clearTimeout(timer);
      }
      search();
    }

    function updateValue() {
      value.value = chosenIds().join(",");
      chips.hidden = chips.children.length === 0;
      value.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function chip(person) {
      const item = document.createElement("li");
      item.className = "people-picker-chip";
      item.dataset.personId = person.id;
      item.dataset.personName = person.name;
      const name = document.createElement("span");
      name.className = "people-picker-chip-name";
      name.textContent = person.name;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "people-picker-remove";
      remove.dataset.pickerRemove = "";
      remove.setAttribute("aria-label", "Remove " + person.name);
      remove.innerHTML = REMOVE_ICON;
      item.append(photo(person.photoUrl, 24), name, remove);
      return item;
    }

    function pick(index) {
      const person = results[index];
      if (!person) {
        return;
      }
      if (!multi) {
        close();
        window.location.assign(jumpUrl.replace("PERSON_ID", encodeURIComponent(person.id)));
        return;
      }
      if (chosenIds().indexOf(person.id) !== -1) {
        announce(person.name + " is already chosen.");
        return;
      }
      chips.append(chip(person));
      updateValue();
      input.value = "";
      close();
      input.focus();
      announce(person.name + " added; " + people(chips.children.length) + " chosen.");
    }

    function removeChip(item) {
      const next = item.nextElementSibling || item.previousElementSibling;
      const name = item.dataset.personName || "";
      item.remove();
      updateValue();
      // Focus stays in the list of chosen people while there is one, else returns to the box.
      const target = next ? next.querySelector("[data-picker-remove]") : input;
      target.focus();
      announce(name + " removed; " + people(chips.children.length) + " chosen.");
    }

    function move(step) {
      if (popup.hidden || results.length === 0) {
        if (input.value.trim() !== "") {
          highlightWhenFound = step;
          searchNow();
        }
        return;
      }
      input.setAttribute("aria-expanded", "true");
      let next = active + step;
      if (next >= results.length) {
        next = 0;
      } else if (next < 0) {
        next = results.length - 1;
      }
      setActive(next);
    }

    input.addEventListener("input", function () {
      highlightWhenFound = 0;
      if (input.value.trim() === "") {
        if (timer !== null) {
          window.clearTimeout(timer);
          timer = null;
        }
        sequence += 1;
        close();
        return;
      }
      searchSoon();
    });

    input.addEventListener("keydown", function (event) {
      if (event.isComposing) {
        return;
      }
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          move(1);
          break;
        case "ArrowUp":
          event.preventDefault();
          move(-1);
          break;
        case "Enter":
          if (!popup.hidden && active >= 0) {
            event.preventDefault();
            pick(active);
          } else if (multi) {
            // The text box only searches; Enter in it never submits the surrounding form.
            event.preventDefault();
          }
          break;
        case "Escape":
          if (!popup.hidden) {
            close();
          } else if (input.value !== "") {
            input.value = "";
            sequence += 1;
            announce("Search cleared.");
          } else {
            return;
          }
          // Handled here: the page's other Escape handlers (the phone menu) stay put.
          event.preventDefault();
          event.stopPropagation();
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });

    // Options take clicks without taking focus from the text box.
    listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    listbox.addEventListener("click", function (event) {
      const item = event.target.closest('[role="option"]');
      if (item) {
        pick(Number(item.dataset.index));
      }
    });

    root.addEventListener("focusout", function (event) {
      if (!root.contains(event.relatedTarget)) {
        close();
      }
    });

    if (multi && value && chips) {
      chips.addEventListener("click", function (event) {
        const button = event.target.closest("[data-picker-remove]");
        if (button) {
          removeChip(button.closest("[data-person-id]"));
        }
      });
    }
  }

  function init() {
    document.querySelectorAll("[data-people-picker]").forEach(initPicker);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
