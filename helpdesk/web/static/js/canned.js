// Canned responses on the workspace's reply form: "Use" fetches the response filled in for this ticket and
// inserts it at the cursor, without reloading. Without JavaScript the button posts the form instead.
(function () {
  "use strict";
  if (!window.fetch) {
    return;
  }

  function insertAtCursor(box, text) {
    var start = typeof box.selectionStart === "number" ? box.selectionStart : box.value.length;
    var end = typeof box.selectionEnd === "number" ? box.selectionEnd : start;
    box.setRangeText(text, start, end, "end");
    box.focus();
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.canned-use");
    var box = document.getElementById("body");
    if (!button || !box || !button.dataset.url) {
      return;
    }
    event.preventDefault();
    fetch(button.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        insertAtCursor(box, data.text);
      })
      .catch(function () {
        button.form.requestSubmit(button); // the page's own way, which explains what went wrong
      });
  });
})();
