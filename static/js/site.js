// Progressive enhancement only: every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector("[data-nav-toggle]");
  const nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("open", !open);
    });
  }
  // Forms that take a while show that they are working and cannot be sent twice.
  // A disabled button is left out of the submitted data, so the pressed button's
  // name/value (e.g. action=submit, then=add) is carried in a hidden input.
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.dataset.submitting === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.submitting = "true";
      const pressed = event.submitter;
      form.querySelectorAll("input[data-pressed-button]").forEach((i) => i.remove());
      if (pressed && pressed.name) {
        const carrier = document.createElement("input");
        carrier.type = "hidden";
        carrier.name = pressed.name;
        carrier.value = pressed.value;
        carrier.dataset.pressedButton = "";
        form.appendChild(carrier);
      }
      form.setAttribute("aria-busy", "true");
      form.querySelectorAll("button[type=submit]").forEach((b) => {
        b.disabled = true;
        b.dataset.label = b.textContent;
        b.textContent = form.dataset.busy;
      });
    });
  });
  // A page restored from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-busy][data-submitting]").forEach((form) => {
      delete form.dataset.submitting;
      form.removeAttribute("aria-busy");
      form.querySelectorAll("input[data-pressed-button]").forEach((i) => i.remove());
      form.querySelectorAll("button[type=submit]").forEach((b) => {
        b.disabled = false;
        if (b.dataset.label) b.textContent = b.dataset.label;
      });
    });
  });
  // A long select (the 179 市町村) gets a search box above it: typing narrows
  // the options by name or reading (かな); Enter picks the first match. The
  // select keeps its own label and value, and works as usual without this.
  const fold = (text) =>
    (text || "")
      .normalize("NFKC")
      .toLowerCase()
      .replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
  document.querySelectorAll("select[data-searchable]").forEach((select) => {
    if (!select.id) return;
    const box = document.createElement("div");
    box.className = "select-search";
    const label = document.createElement("label");
    const input = document.createElement("input");
    const status = document.createElement("span");
    input.type = "search";
    input.id = `${select.id}-search`;
    input.autocomplete = "off";
    input.setAttribute("aria-controls", select.id);
    label.htmlFor = input.id;
    label.textContent = select.dataset.searchable;
    status.id = `${select.id}-search-status`;
    status.className = "select-search-status";
    status.setAttribute("aria-live", "polite");
    input.setAttribute("aria-describedby", status.id);
    box.append(label, input, status);
    select.before(box);
    const original = Array.from(select.children, (node) => node.cloneNode(true));
    const matches = (option, term) =>
      fold(option.textContent).includes(term) || fold(option.dataset.kana).includes(term);
    // The empty choice and the chosen one stay, so narrowing never changes the value.
    const keeps = (option, term, chosen) =>
      !term || !option.value || option.value === chosen || matches(option, term);
    input.addEventListener("input", () => {
      const term = fold(input.value.trim());
      const chosen = select.value;
      const kept = [];
      let found = 0;
      const take = (option) => {
        const copy = option.cloneNode(true);
        if (option.value && option.value !== chosen) found += 1;
        return copy;
      };
      original.forEach((node) => {
        if (node.tagName === "OPTGROUP") {
          const group = node.cloneNode(false);
          Array.from(node.children).forEach((option) => {
            if (keeps(option, term, chosen)) group.append(take(option));
          });
          if (group.children.length) kept.push(group);
        } else if (keeps(node, term, chosen)) {
          kept.push(take(node));
        }
      });
      select.replaceChildren(...kept);
      select.value = chosen;
      status.textContent = term
        ? (select.dataset.searchCount || "{n}").replace("{n}", String(found))
        : "";
    });
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      // Enter in the box chooses rather than sends the form.
      event.preventDefault();
      const term = fold(input.value.trim());
      const first = term && Array.from(select.options).find((o) => o.value && matches(o, term));
      if (first) {
        select.value = first.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      select.focus();
    });
  });
  // Confirmations for destructive actions that are not on their own page.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (e) => {
      if (!window.confirm(el.dataset.confirm)) e.preventDefault();
    });
  });
});

// The navi's 「現在地から探す」: shown only where the browser can give its
// location; the position fills the form's lat/lon, and the server sorts by distance.
document.addEventListener("DOMContentLoaded", () => {
  if (!("geolocation" in navigator)) return;
  document.querySelectorAll("form[data-navi-near]").forEach((form) => {
    const status = form.querySelector("[data-navi-near-status]");
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      if (form.elements.lat.value && form.elements.lon.value) return;
      event.preventDefault();
      if (status) status.textContent = form.dataset.locating;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          form.elements.lat.value = position.coords.latitude.toFixed(5);
          form.elements.lon.value = position.coords.longitude.toFixed(5);
          form.submit();
        },
        () => {
          if (status) status.textContent = form.dataset.failed;
        },
        { timeout: 10000, maximumAge: 60000 },
      );
    });
  });
});
