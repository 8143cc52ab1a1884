// Survey answering form: progressive enhancement only. Without JavaScript every
// question is shown (a conditional one says when it applies) and the server
// discards answers to questions whose condition is not met.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-survey-form]").forEach((form) => {
    const conditional = Array.from(form.querySelectorAll("[data-show-if]"));
    const update = () => {
      // In document order, so a condition on a hidden question hides its dependents too.
      conditional.forEach((el) => {
        const name = el.dataset.showIf;
        const source = form.querySelector(`[data-question="${name}"]`);
        const sourceShown = source !== null && !source.hidden;
        const matches = Array.from(form.querySelectorAll(`input[name="${name}"]:checked`)).some(
          (input) => input.value === el.dataset.showIfValue
        );
        el.hidden = !(sourceShown && matches);
      });
    };
    if (conditional.length) {
      form.addEventListener("change", update);
      update();
    }
    // Choosing "その他" moves to its text box; typing in it chooses "その他".
    form.querySelectorAll(".question-other input").forEach((other) => {
      const question = other.closest("[data-question]");
      const choice = question && question.querySelector('input[value="その他"]');
      if (!choice) return;
      choice.addEventListener("change", () => {
        if (choice.checked) other.focus();
      });
      other.addEventListener("input", () => {
        if (other.value.trim() && !choice.checked) {
          choice.checked = true;
          choice.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    });
    // After a failed submission, bring the error summary into view.
    const summary = form.querySelector("#form-errors");
    if (summary) summary.focus();
  });
});
