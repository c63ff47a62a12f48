// The attendance sheet, enhanced: a live count of people without a status, and "All
// present" filled in on the phone without a round trip (nothing is saved until "Save").
// Without this file the same buttons work through the server.
document.addEventListener("DOMContentLoaded", () => {
  const sheet = document.getElementById("sheet");
  if (!sheet || sheet.dataset.state !== "open") return;
  const people = Array.from(sheet.querySelectorAll("fieldset.person"));
  const counter = document.getElementById("unset-count");
  const unset = () => people.filter((p) => !p.querySelector("input[type=radio]:checked"));
  const update = () => { if (counter) counter.textContent = String(unset().length); };
  sheet.addEventListener("change", update);
  const allPresent = document.getElementById("all-present");
  if (allPresent) {
    allPresent.addEventListener("click", (event) => {
      event.preventDefault();
      unset().forEach((person) => {
        const present = person.querySelector("input[type=radio][value=present]");
        if (present) present.checked = true;
      });
      update();
    });
  }
  // Keep the error summary in view and announced after a failed save.
  const errors = document.getElementById("sheet-errors");
  if (errors) errors.focus();
  update();
});
