// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Forms marked data-confirm ask before they submit (e.g. sending invitations).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Sections marked data-load are filled from their page (the same section there) once
  // this page is shown; the link inside stays if that fails.
  document.querySelectorAll("section[data-load]").forEach((section) => {
    fetch(section.dataset.load, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const page = new DOMParser().parseFromString(html, "text/html");
        const found = page.getElementById(section.id);
        if (found) section.replaceChildren(...found.childNodes);
        section.removeAttribute("data-load");
        section.dataset.loaded = "true";
      })
      .catch(() => {});
  });
});
