// Knowledge base suggestions beside the new-ticket form: while the customer types the subject, matching
// articles (the KB's JSON search, debounced) are listed so they may find the answer before writing.
// Without JavaScript the box only links to the knowledge base.
(function () {
  "use strict";
  var box = document.querySelector("aside.kb-suggest");
  if (!box || !window.fetch) {
    return;
  }
  var input = document.getElementById(box.dataset.subjectField || "subject");
  var list = box.querySelector(".kb-suggest-list");
  if (!input || !list) {
    return;
  }
  var timer = null;
  var latest = 0;

  function show(articles) {
    list.replaceChildren();
    articles.forEach(function (article) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = article.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = article.title;
      item.appendChild(link);
      list.appendChild(item);
    });
    box.classList.toggle("has-suggestions", articles.length > 0);
  }

  function lookUp() {
    var text = input.value.trim();
    var ticket = ++latest;
    if (text.length < 3) {
      show([]);
      return;
    }
    fetch(box.dataset.suggestUrl + "?q=" + encodeURIComponent(text),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        if (ticket === latest) {  // an answer to an older keystroke must not replace a newer one
          show(data.articles || []);
        }
      })
      .catch(function () { /* suggestions are a help, never in the way */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(lookUp, 250);
  });
  if (input.value) {
    lookUp();
  }
}());
