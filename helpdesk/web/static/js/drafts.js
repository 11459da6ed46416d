// Unsent text survives the ticket page's other forms: a reply being written is kept in this tab's
// sessionStorage while the person adds a CC or saves the ticket's details (each a page load of its own),
// and put back when the page comes back. Sending the form forgets it. Without JavaScript nothing changes.
(function () {
  "use strict";
  var storage;
  try {
    storage = window.sessionStorage;
  } catch (e) {
    return;  // storage switched off
  }
  if (!storage) {
    return;
  }
  document.querySelectorAll("form[data-draft-key]").forEach(function (form) {
    form.querySelectorAll("textarea[name]").forEach(function (area) {
      var key = "helpdesk-draft:" + form.dataset.draftKey + ":" + area.name;
      if (!area.value && storage.getItem(key)) {
        area.value = storage.getItem(key);
      }
      area.addEventListener("input", function () {
        try {
          if (area.value) {
            storage.setItem(key, area.value);
          } else {
            storage.removeItem(key);
          }
        } catch (e) {
          // full: the draft is simply not kept
        }
      });
      form.addEventListener("submit", function () {
        storage.removeItem(key);
      });
    });
  });
})();
