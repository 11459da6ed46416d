// "Who else is looking": a heartbeat to the workspace's presence endpoint every few seconds ("replying" while
// the agent types in the reply or note box), and the notice about the other agents kept up to date.
(function () {
  "use strict";
  var box = document.getElementById("presence");
  if (!box || !window.fetch) {
    return;
  }
  var interval = (parseInt(box.dataset.interval, 10) || 15) * 1000;
  var lastTyped = 0;

  function show(notices) {
    var paragraphs = notices.map(function (text) {
      var p = document.createElement("p");
      p.className = "presence-notice";
      p.textContent = text;
      return p;
    });
    box.replaceChildren.apply(box, paragraphs);
  }

  function beat() {
    var activity = Date.now() - lastTyped < interval ? "replying" : "viewing";
    fetch(box.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": box.dataset.csrf},
      body: JSON.stringify({activity: activity})
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data && Array.isArray(data.notices)) {
        show(data.notices);
      }
    }).catch(function () {
      // Offline for a moment: the next heartbeat tries again.
    });
  }

  function typed() {
    var quiet = Date.now() - lastTyped >= interval;
    lastTyped = Date.now();
    if (quiet) {
      beat(); // tell the others at once, not at the next tick
    }
  }

  ["body", "note"].forEach(function (id) {
    var field = document.getElementById(id);
    if (field) {
      field.addEventListener("input", typed);
    }
  });
  beat(); // the page itself records nothing (a GET never writes): this is the agent's first heartbeat
  window.setInterval(beat, interval);
})();
