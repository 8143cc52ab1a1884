// The committee's pages (dashboard, needs register). Progressive enhancement
// only: without JavaScript the forms keep their 表示 button and the browser's
// own print works.
document.addEventListener("DOMContentLoaded", () => {
  // The print button needs JavaScript, so it starts hidden.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });

  // A form that follows its select: choosing a 年度 shows it, no button needed.
  // A mouse or touch choice submits at once. Arrow keys on a closed select
  // change the value one step at a time, so a keyboard change waits for Enter
  // or for the focus to leave the select instead of loading a page per key.
  const FOCUS_KEY = "follow-select-focus";
  document.querySelectorAll("form[data-follow-select]").forEach((form) => {
    const select = form.querySelector("select");
    if (!select) return;
    form.querySelectorAll("[data-follow-select-button]").forEach((b) => {
      b.hidden = true;
    });
    const hint = form.querySelector("[data-follow-select-hint]");
    if (hint && hint.id) {
      hint.hidden = false;
      select.setAttribute("aria-describedby", hint.id);
    }
    let byKeyboard = false;
    let pending = false;
    const follow = () => {
      if (form.dataset.following === "true") return;
      form.dataset.following = "true";
      // After the page loads, the focus comes back to the same select.
      try {
        sessionStorage.setItem(FOCUS_KEY, select.id);
      } catch (e) {
        // Storage may be off; the focus then starts at the top as usual.
      }
      form.submit();
    };
    select.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        if (pending) {
          event.preventDefault();
          follow();
        }
        return;
      }
      if (event.key !== "Tab" && event.key !== "Shift") byKeyboard = true;
    });
    select.addEventListener("pointerdown", () => {
      byKeyboard = false;
    });
    select.addEventListener("change", () => {
      if (byKeyboard) {
        pending = true;
        return;
      }
      follow();
    });
    select.addEventListener("blur", () => {
      if (pending) follow();
    });
  });
  try {
    const focusId = sessionStorage.getItem(FOCUS_KEY);
    if (focusId) {
      sessionStorage.removeItem(FOCUS_KEY);
      const target = document.getElementById(focusId);
      if (target) target.focus();
    }
  } catch (e) {
    // No storage: nothing to restore.
  }
  // A page restored from the back/forward cache can follow the select again.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-follow-select]").forEach((form) => {
      delete form.dataset.following;
    });
  });
});
