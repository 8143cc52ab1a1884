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
  // Confirmations for destructive actions that are not on their own page.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (e) => {
      if (!window.confirm(el.dataset.confirm)) e.preventDefault();
    });
  });
});
