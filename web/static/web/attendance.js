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
  // Check the minutes before sending: a wrong value may sit in a closed "details"
  // section, where the browser's own bubble would point at nothing (the form is
  // novalidate). Each wrong field's section opens, the field gets its message beside it,
  // the summary at the top lists them all, and the first one gets the focus.
  const max = Number(sheet.dataset.maxMinutes);
  const minutesProblem = (input) => {
    const raw = input.value.trim();
    if (input.validity.badInput || (raw !== "" && !/^-?\d+$/.test(raw))) return sheet.dataset.msgWhole;
    if (raw === "") return "";
    const minutes = Number(raw);
    if (minutes < 0) return sheet.dataset.msgNegative;
    if (minutes > max) return sheet.dataset.msgLonger.replace("{minutes}", String(minutes));
    return "";
  };
  const showProblem = (person, input, message) => {
    const pk = person.dataset.person;
    const id = `error-${pk}`;
    let note = document.getElementById(id);
    if (message) {
      if (!note) {
        note = document.createElement("p");
        note.className = "line-error";
        note.id = id;
      }
      input.insertAdjacentElement("afterend", note);
      note.textContent = message;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      person.classList.add("has-error");
      const details = input.closest("details");
      if (details) details.open = true;
    } else if (input.getAttribute("aria-invalid")) {
      if (note) note.remove();
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      person.classList.remove("has-error");
    }
  };
  const summary = () => {
    let box = document.getElementById("sheet-errors");
    if (!box) {
      box = document.createElement("div");
      box.className = "errors";
      box.id = "sheet-errors";
      box.setAttribute("role", "alert");
      box.tabIndex = -1;
      sheet.parentNode.insertBefore(box, sheet.previousElementSibling && sheet.previousElementSibling.id === "sheet-closed" ? sheet.previousElementSibling : sheet);
    }
    return box;
  };
  sheet.addEventListener("submit", (event) => {
    const wrong = [];
    people.forEach((person) => {
      const input = person.querySelector("input[name^='minutes-']");
      if (!input) return;
      const message = minutesProblem(input);
      showProblem(person, input, message);
      if (message) wrong.push({ person, input, message });
    });
    if (!wrong.length) return;
    event.preventDefault();
    const box = summary();
    box.replaceChildren();
    const head = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = sheet.dataset.msgSummary;
    head.append(strong);
    box.append(head);
    wrong.forEach(({ person, input, message }) => {
      const line = document.createElement("p");
      const link = document.createElement("a");
      link.href = `#${input.id}`;
      // The name isolated: a Latin name inside an Arabic message keeps its place.
      const name = document.createElement("bdi");
      const shown = person.querySelector("legend .name");
      name.textContent = shown ? shown.textContent : "";
      link.append(name, `: ${message}`);
      link.addEventListener("click", (e) => { e.preventDefault(); input.focus(); });
      line.append(link);
      box.append(line);
    });
    wrong[0].input.focus();
  });
  // Keep the error summary in view and announced after a failed save.
  const errors = document.getElementById("sheet-errors");
  const firstWrong = sheet.querySelector("[aria-invalid=true]");
  if (firstWrong) firstWrong.focus();
  else if (errors) errors.focus();
  update();
});
