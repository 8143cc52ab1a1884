// The survey builder's forms: progressive enhancement only (without JavaScript
// every field is shown and the server checks the combinations).

// Progressive enhancement: show only the settings the chosen kind uses.
(() => {
  const form = document.querySelector("[data-question-form]");
  if (!form) return;
  const choices = form.querySelector("[data-section='2']");
  const scale = form.querySelector("[data-section='3']");
  const kind = () => (form.querySelector("[name=kind]:checked") || form.querySelector("[name=kind]") || {}).value;
  const sync = () => {
    const value = kind();
    if (!value) return;
    choices.hidden = !(value === "single" || value === "multiple");
    scale.hidden = value !== "scale";
  };
  form.querySelectorAll("[name=kind]").forEach((input) => input.addEventListener("change", sync));
  sync();
})();

// Progressive enhancement: without JavaScript every field is shown and the
// server checks the combinations.
(() => {
  const form = document.querySelector("[data-survey-settings]");
  if (!form) return;
  const defaults = JSON.parse(document.getElementById("survey-kind-defaults").textContent);
  const kind = form.querySelector("[name=kind]");
  const eventRow = form.querySelector("[data-field=event]");
  const picker = form.querySelector("[data-org-picker]");
  const checked = (name) => (form.querySelector(`[name=${name}]:checked`) || {}).value;
  const setRadio = (name, value) => {
    const input = form.querySelector(`[name=${name}][value="${value}"]`);
    if (input && !input.disabled) input.checked = true;
  };
  const sync = () => {
    if (eventRow) eventRow.hidden = kind.value !== "post_event";
    if (picker) picker.hidden = checked("audience") !== "chosen";
  };
  kind.addEventListener("change", () => {
    if (form.hasAttribute("data-new") && defaults[kind.value]) {
      setRadio("audience", defaults[kind.value].audience);
      setRadio("respondent_unit", defaults[kind.value].respondent_unit);
      setRadio("template", defaults[kind.value].template);
    }
    sync();
  });
  form.querySelectorAll("[name=audience]").forEach((input) => input.addEventListener("change", sync));
  sync();
  // Filter the organisation list as you type (name or kana).
  const filter = form.querySelector("[data-org-filter]");
  if (filter) {
    filter.closest("[data-org-filter-row]").hidden = false;
    filter.addEventListener("input", () => {
      const term = filter.value.trim().toLowerCase()
        .replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
      picker.querySelectorAll("[data-org-name]").forEach((item) => {
        item.hidden = term !== "" && !item.dataset.orgName.toLowerCase().includes(term);
      });
      picker.querySelectorAll("details").forEach((group) => {
        if (term !== "") group.open = true;
      });
    });
  }
})();
