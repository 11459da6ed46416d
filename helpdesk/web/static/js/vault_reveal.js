// The credential vault's reveal buttons: post the form (its CSRF token included) and put the value in place of
// the button. Without this script the same form posts and the answer is the page with that value shown.
(function () {
  "use strict";
  function show(cell, field, value) {
    var element = document.createElement(field === "notes" ? "pre" : "code");
    element.className = "vault-value";
    element.setAttribute("dir", field === "notes" ? "auto" : "ltr");
    element.textContent = value;
    cell.replaceChildren(element);
  }
  document.querySelectorAll("form.vault-reveal").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var cell = form.closest(".vault-secret");
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                          headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (answer) { show(cell, cell.dataset.field, answer.value); })
        .catch(function () { form.submit(); });
    });
  });
})();
