// The check-in page (templates/events/checkin.html). Progressive enhancement:
// without JavaScript each row is a plain form that posts and comes back to the
// page; with it, the row and the counts update in place. The texts it shows
// come from the page (data-hint-on, data-failed), translated by Django.
(() => {
  "use strict";

  const countsBox = document.querySelector(".checkin-counts");
  if (!countsBox) return;
  const counts = {
    attended: countsBox.querySelector("[data-count=attended]"),
    confirmed: countsBox.querySelector("[data-count=confirmed]"),
  };
  const hintOn = countsBox.dataset.hintOn || "";
  const failed = countsBox.dataset.failed || "";

  async function record(form) {
    const row = form.closest(".checkin-row");
    const button = form.querySelector("button");
    const error = row.querySelector(".checkin-error");
    if (button.disabled) return;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    button.textContent = button.dataset.labelBusy;
    error.hidden = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok || !data.ok) throw new Error(data.error || failed);
      row.classList.toggle("is-attended", data.attended);
      form.elements.attended.value = data.attended ? "0" : "1";
      button.setAttribute("aria-pressed", String(data.attended));
      form.querySelector(".checkin-hint").textContent = data.attended ? hintOn : "";
      counts.attended.textContent = data.attended_count;
      counts.confirmed.textContent = data.confirmed_count;
    } catch (e) {
      // A network failure's own message ("Failed to fetch") means nothing to the reader.
      error.textContent = e.message && e.message !== "Failed to fetch" ? e.message : failed;
      error.hidden = false;
    } finally {
      const on = button.getAttribute("aria-pressed") === "true";
      button.textContent = on ? button.dataset.labelOn : button.dataset.labelOff;
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  document.querySelectorAll("form[data-checkin]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      record(form);
    });
  });
})();
