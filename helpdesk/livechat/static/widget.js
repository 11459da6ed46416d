// The visitor's chat panel: a button in the page's bottom corner that opens a conversation with the helpdesk.
// Plain script, no framework: it runs on the portal and, through <script src=".../chat/widget.js" async>, on
// other websites (it learns the helpdesk's address from its own src). Its texts come from the server with the
// script (window.HelpdeskChatTexts). The visitor key stays in localStorage, so a reload reattaches to the chat.
// Server to browser: Server-Sent Events read with fetch() (EventSource cannot send the X-Chat-Key header).
// What it shares with the inbox (elements, the API call, the stream) is chat-common.js, served in front of it.
(function () {
  "use strict";
  if (window.HelpdeskChat || !window.fetch || !window.TextDecoder || !window.HelpdeskChatCommon) {
    return;
  }
  var T = window.HelpdeskChatTexts || {};
  var common = window.HelpdeskChatCommon;
  var text = common.texts(T);
  var el = common.el;
  var script = document.currentScript || document.querySelector("script[src*='/chat/widget.js']");
  if (!script) {
    return;
  }
  var BASE = script.src.replace(/\/chat\/widget\.js(\?.*)?$/, "");
  var KEY_NAME = "helpdesk-chat-key:" + BASE;
  var sameOrigin = new URL(BASE, location.href).origin === location.origin;

  var state = {
    key: null, chat: null, events: {}, lastId: 0, status: null, settledId: 0, arrivals: [],
    typingTimer: null, lastTypingSent: 0, waitTimer: null, offerShown: false
  };

  // ------------------------------------------------------------------ small helpers

  function storedKey() {
    try { return localStorage.getItem(KEY_NAME); } catch (e) { return null; }
  }

  function storeKey(key) {
    try {
      if (key) { localStorage.setItem(KEY_NAME, key); } else { localStorage.removeItem(KEY_NAME); }
      localStorage.removeItem(KEY_NAME + ":ended");
    } catch (e) { /* private mode: the chat lasts as long as the page */ }
  }

  // An ended chat stays reachable (rating, transcript) but no longer opens the panel on every page.
  function rememberEnded() {
    try { localStorage.setItem(KEY_NAME + ":ended", "1"); } catch (e) { /* as above */ }
  }

  function endedBefore() {
    try { return localStorage.getItem(KEY_NAME + ":ended") === "1"; } catch (e) { return false; }
  }

  // The visitor's key says whose chat it is; cookies go along only on the helpdesk's own site (the portal's
  // customer, the CSRF token of its forms).
  var api = common.apiClient({
    base: BASE,
    headers: function () { return state.key ? {"X-Chat-Key": state.key} : {}; },
    credentials: function () { return sameOrigin ? "same-origin" : "omit"; }
  });

  // ------------------------------------------------------------------ the button and the panel

  var root = el("div", {"class": "hdchat", dir: T.dir || document.documentElement.dir || "ltr",
                        lang: T.lang || document.documentElement.lang || null});
  var launcher = el("button", {type: "button", "class": "hdchat-launcher", "aria-expanded": "false",
                               "aria-controls": "hdchat-panel", text: text("open")});
  var panel = el("section", {id: "hdchat-panel", "class": "hdchat-panel", role: "dialog",
                             "aria-label": text("title"), hidden: true});
  var closeButton = el("button", {type: "button", "class": "hdchat-close", "aria-label": text("close"),
                                  text: "×"});
  var header = el("header", {"class": "hdchat-header"}, [el("h2", {text: text("title")}), closeButton]);
  var body = el("div", {"class": "hdchat-body"});
  var notice = el("p", {"class": "hdchat-notice", role: "status", hidden: true});
  panel.appendChild(header);
  panel.appendChild(notice);
  panel.appendChild(body);
  root.appendChild(panel);
  root.appendChild(launcher);

  function showNotice(message) {
    notice.textContent = message || "";
    notice.hidden = !message;
  }

  function setBody(nodes) {
    body.replaceChildren.apply(body, nodes);
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    root.classList.add("hdchat-open");
    if (!body.firstChild) {
      begin();
    }
    var first = panel.querySelector("input, textarea, button:not(.hdchat-close)");
    if (first) {
      first.focus();
    }
    markRead();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    root.classList.remove("hdchat-open");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) { open(); } else { close(); } });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { close(); } });

  function field(label, input) {
    var id = "hdchat-" + input.name;
    input.id = id;
    return el("div", {"class": "hdchat-field"}, [el("label", {"for": id, text: label}), input,
      el("p", {"class": "hdchat-error", id: id + "-error", hidden: true})]);
  }

  function showErrors(form, result) {
    var data = result.data || {};
    var fields = data.fields || {};
    form.querySelectorAll(".hdchat-error").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    var shown = false;
    Object.keys(fields).forEach(function (name) {
      var p = form.querySelector("#hdchat-" + name + "-error");
      if (p) {
        p.textContent = fields[name];
        p.hidden = false;
        shown = true;
      }
    });
    showNotice(shown ? "" : (data.error || text("error")));
  }

  function departmentSelect(status) {
    var departments = (status && status.departments) || [];
    if (!departments.length) {
      return null;
    }
    var select = el("select", {name: "department"}, [el("option", {value: "", text: text("any_department")})]);
    departments.forEach(function (d) { select.appendChild(el("option", {value: d.id, text: d.name})); });
    return field(text("department"), select);
  }

  // ------------------------------------------------------------------ before a chat: status, start, or a ticket

  function begin() {
    state.key = storedKey();
    if (state.key) {
      api("GET", "/chat/visitor").then(function (result) {
        if (result.ok) {
          attach(result.data.chat, result.data.events);
        } else {
          storeKey(null);
          state.key = null;
          showStart();
        }
      }).catch(function () { showNotice(text("error")); });
    } else {
      showStart();
    }
  }

  function showStart() {
    showNotice("");
    api("GET", "/chat/status").then(function (result) {
      if (!result.ok) {
        showNotice(text("error"));
        return;
      }
      var status = result.data;
      if (!status.open) {
        showTicketForm(status, text("closed"));
      } else if (!status.agents_online) {
        showTicketForm(status, text("no_agents"));
      } else {
        showStartForm(status);
      }
    }).catch(function () { showNotice(text("error")); });
  }

  function showStartForm(status) {
    var known = status.customer;
    var form = el("form", {"class": "hdchat-start", novalidate: true}, [
      el("p", {"class": "hdchat-intro", text: text("intro")}),
      known ? null : field(text("name"), el("input", {type: "text", name: "name", autocomplete: "name",
                                                       required: true})),
      known ? null : field(text("email"), el("input", {type: "email", name: "email", autocomplete: "email",
                                                        required: true})),
      departmentSelect(status),
      field(text("first_message"), el("textarea", {name: "message", rows: 3})),
      el("button", {type: "submit", "class": "hdchat-primary", text: text("start")})
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = {origin: location.href};
      ["name", "email", "department", "message"].forEach(function (name) {
        if (form.elements[name]) {
          data[name] = form.elements[name].value;
        }
      });
      var headers = status.csrf_token && sameOrigin ? {"X-CSRFToken": status.csrf_token} : {};
      form.querySelector("button[type=submit]").disabled = true;
      api("POST", "/chat/start", data, headers).then(function (result) {
        form.querySelector("button[type=submit]").disabled = false;
        if (result.status === 409) {  // the chat hours ended meanwhile: leave a ticket instead
          showTicketForm(status, (result.data && result.data.error) || text("closed"));
          return;
        }
        if (!result.ok) {
          showErrors(form, result);
          return;
        }
        state.key = result.data.key;
        state.given = {name: data.name || "", email: data.email || ""};  // for a ticket form later
        storeKey(state.key);
        showNotice("");
        api("GET", "/chat/visitor").then(function (again) {
          attach(again.ok ? again.data.chat : result.data.chat, again.ok ? again.data.events : []);
        });
      }).catch(function () {
        form.querySelector("button[type=submit]").disabled = false;
        showNotice(text("error"));
      });
    });
    setBody([form]);
  }

  function ticketForm(status, prefill) {
    var known = status && status.customer;
    var form = el("form", {"class": "hdchat-ticket", novalidate: true}, [
      known ? null : field(text("name"), el("input", {type: "text", name: "name", autocomplete: "name",
                                                       value: prefill.name || null})),
      known ? null : field(text("email"), el("input", {type: "email", name: "email", autocomplete: "email",
                                                        value: prefill.email || null})),
      departmentSelect(status),
      field(text("subject"), el("input", {type: "text", name: "subject"})),
      field(text("body"), el("textarea", {name: "body", rows: 4})),
      known ? null : el("div", {"class": "hdchat-field hdchat-consent"}, [
        el("label", {}, [el("input", {type: "checkbox", name: "privacy", value: "yes"}), " ", text("privacy")]),
        el("p", {"class": "hdchat-error", id: "hdchat-privacy-error", hidden: true})]),
      el("button", {type: "submit", "class": "hdchat-primary", text: text("send_ticket")})
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = {};
      ["name", "email", "department", "subject", "body"].forEach(function (name) {
        if (form.elements[name]) {
          data[name] = form.elements[name].value;
        }
      });
      if (form.elements.privacy) {
        data.privacy = form.elements.privacy.checked;  // the guest form's rule: a guest agrees to the policy
      }
      var headers = status && status.csrf_token && sameOrigin ? {"X-CSRFToken": status.csrf_token} : {};
      api("POST", "/chat/ticket", data, headers).then(function (result) {
        if (!result.ok) {
          showErrors(form, result);
          return;
        }
        showNotice("");
        form.replaceWith(el("p", {"class": "hdchat-ticket-made", role: "status",
                                  text: text("ticket_made", {number: result.data.number})}));
      }).catch(function () { showNotice(text("error")); });
    });
    return form;
  }

  function showTicketForm(status, why) {
    setBody([el("p", {"class": "hdchat-intro", text: why}),
             el("h3", {text: text("leave_ticket")}), ticketForm(status, {})]);
  }

  // ------------------------------------------------------------------ the conversation

  var list, typingLine, composer, input, fileInput, actions, waitingLine, offerBox;

  function attach(chat, events) {
    state.chat = chat;
    state.status = chat.status;
    state.events = {};
    state.lastId = 0;
    state.settledId = 0;
    state.arrivals = [];
    list = el("ol", {"class": "hdchat-messages", "aria-live": "polite"});
    typingLine = el("p", {"class": "hdchat-typing", hidden: true, text: text("typing")});
    waitingLine = el("p", {"class": "hdchat-waiting", text: text("waiting"), hidden: chat.status !== "waiting"});
    offerBox = el("div", {"class": "hdchat-offer", hidden: true});
    input = el("textarea", {name: "body", rows: 2, "aria-label": text("message"), placeholder: text("message")});
    fileInput = el("input", {type: "file", name: "file", "class": "hdchat-file-input", id: "hdchat-file",
                             "aria-label": text("attach")});
    composer = el("form", {"class": "hdchat-composer"}, [
      input,
      el("label", {"for": "hdchat-file", "class": "hdchat-attach", title: text("attach")},
         [paperclip(), el("span", {"class": "hdchat-visually-hidden", text: text("attach")})]),
      fileInput,
      el("button", {type: "submit", "class": "hdchat-primary", text: text("send")})
    ]);
    actions = el("div", {"class": "hdchat-actions"}, [
      el("button", {type: "button", "class": "hdchat-end", text: text("end"), on: {click: endChat}})
    ]);
    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      send();
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        send();
      }
    });
    input.addEventListener("input", sendTyping);
    fileInput.addEventListener("change", function () { if (fileInput.files.length) { send(); } });
    setBody([waitingLine, list, typingLine, offerBox, composer, actions]);
    (events || []).forEach(addEvent);
    applyStatus(chat);
    stream.connect();
    watchWaiting();
  }

  // Drawn, not an emoji: not every system has a font with one.
  function paperclip() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "20");
    svg.setAttribute("height", "20");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8");
    path.setAttribute("stroke-linecap", "round");
    svg.appendChild(path);
    return svg;
  }

  function time(iso) {
    return common.clockTime(iso, T.lang || document.documentElement.lang || undefined);
  }

  function systemSentence(event) {
    return event.body || "";  // the server words system events in the reader's language
  }

  function addEvent(event) {
    if (!event || !event.id || state.events[event.id]) {
      return;
    }
    state.events[event.id] = event;
    state.lastId = Math.max(state.lastId, event.id);
    state.arrivals.push([Date.now(), event.id]);
    var item;
    if (event.kind === "system") {
      item = el("li", {"class": "hdchat-system", "data-id": event.id, "data-type": (event.data || {}).type || null},
                [systemSentence(event)]);
    } else {
      var mine = event.side === "customer";
      var files = (event.attachments || []).map(function (file) {
        return el("li", {}, [el("a", {href: "#", "class": "hdchat-download", text: file.filename,
                                      title: text("download", {filename: file.filename}),
                                      on: {click: function (e) { e.preventDefault(); download(file); }}})]);
      });
      item = el("li", {"class": "hdchat-message " + (mine ? "hdchat-mine" : "hdchat-theirs"),
                       "data-id": event.id}, [
        el("span", {"class": "hdchat-author", text: mine ? text("you") : (event.author || text("agent"))}),
        event.body ? el("p", {"class": "hdchat-text", dir: "auto", text: event.body}) : null,
        files.length ? el("ul", {"class": "hdchat-files"}, files) : null,
        el("span", {"class": "hdchat-meta"}, [el("time", {datetime: event.created_at, text: time(event.created_at)}),
          mine ? el("span", {"class": "hdchat-ticks"}) : null])
      ]);
    }
    common.insertById(list, item, event.id);
    if (event.side === "agent") {
      typingLine.hidden = true;
    }
    updateTicks();
    list.scrollTop = list.scrollHeight;
    if (event.side !== "customer") {
      markRead();
    }
  }

  function download(file) {
    // A link cannot carry the key header: fetch the file and hand it over as a blob.
    fetch(BASE + "/chat/visitor/attachments/" + file.id, {headers: {"X-Chat-Key": state.key}})
      .then(function (response) { return response.blob(); })
      .then(function (blob) {
        var link = el("a", {href: URL.createObjectURL(blob), download: file.filename});
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
  }

  function updateTicks() {
    if (!list || !state.chat) {
      return;
    }
    var upto = state.chat.agent_read_upto || 0;
    common.markTicks(list.querySelectorAll(".hdchat-mine .hdchat-ticks"), upto, text, "", "hdchat-read");
  }

  function applyStatus(chat) {
    var before = state.status;
    Object.keys(chat || {}).forEach(function (name) { state.chat[name] = chat[name]; });
    state.status = state.chat.status;
    waitingLine.hidden = state.status !== "waiting";
    if (state.status !== "waiting") {
      offerBox.hidden = true;
    }
    updateTicks();
    if (state.status === "ended" && (before !== "ended" || !panel.querySelector(".hdchat-after"))) {
      showAfterEnd();
    }
  }

  function showAfterEnd() {
    stream.stop();
    rememberEnded();
    composer.hidden = true;
    actions.hidden = true;
    typingLine.hidden = true;
    var after = el("div", {"class": "hdchat-after"});
    if (!state.chat.rating) {
      var comment = el("textarea", {name: "comment", rows: 2});
      var rating = el("form", {"class": "hdchat-rating"}, [
        el("fieldset", {}, [
          el("legend", {text: text("rate_question")}),
          el("label", {}, [el("input", {type: "radio", name: "rating", value: "good"}), " " + text("good")]),
          el("label", {}, [el("input", {type: "radio", name: "rating", value: "bad"}), " " + text("bad")])
        ]),
        field(text("comment"), comment),
        el("button", {type: "submit", text: text("send_rating")})
      ]);
      rating.addEventListener("submit", function (event) {
        event.preventDefault();
        var chosen = rating.querySelector("input[name=rating]:checked");
        if (!chosen) {
          return;
        }
        api("POST", "/chat/visitor/rating", {rating: chosen.value, comment: comment.value}).then(function (r) {
          if (r.ok) {
            rating.replaceWith(el("p", {role: "status", text: text("rated")}));
          } else {
            showNotice((r.data && r.data.error) || text("error"));
          }
        });
      });
      after.appendChild(rating);
    }
    if (!state.chat.transcript_sent_at) {
      var transcript = el("button", {type: "button", "class": "hdchat-transcript", text: text("transcript")});
      transcript.addEventListener("click", function () {
        transcript.disabled = true;
        api("POST", "/chat/visitor/transcript").then(function (r) {
          transcript.replaceWith(el("p", {role: "status", text: r.ok ? text("transcript_sent") : text("error")}));
        });
      });
      after.appendChild(transcript);
    }
    after.appendChild(el("button", {type: "button", "class": "hdchat-new", text: text("new_chat"), on: {
      click: function () {
        storeKey(null);
        state.key = null;
        state.chat = null;
        showStart();
      }
    }}));
    body.appendChild(after);
  }

  function send() {
    var message = input.value.trim();
    var file = fileInput.files[0];
    if (!message && !file) {
      return;
    }
    var payload;
    if (file) {
      payload = new FormData();
      payload.append("body", message);
      payload.append("file", file);
    } else {
      payload = {body: message};
    }
    input.value = "";
    fileInput.value = "";
    api("POST", "/chat/visitor/messages", payload).then(function (result) {
      if (result.ok) {
        showNotice("");
        addEvent(result.data);
      } else {
        input.value = input.value || message;
        showNotice((result.data && (result.data.error || Object.values(result.data.fields || {})[0])) ||
                   text("error"));
      }
    }).catch(function () {
      input.value = input.value || message;
      showNotice(text("error"));
    });
  }

  function sendTyping() {
    var now = Date.now();
    if (now - state.lastTypingSent > 3000) {
      state.lastTypingSent = now;
      api("POST", "/chat/visitor/typing").catch(function () {});
    }
  }

  function markRead() {
    if (!state.key || !state.chat || panel.hidden || document.hidden || !state.lastId) {
      return;
    }
    if ((state.chat.customer_read_upto || 0) >= state.lastId) {
      return;
    }
    state.chat.customer_read_upto = state.lastId;
    api("POST", "/chat/visitor/read", {upto: state.lastId}).catch(function () {});
  }

  document.addEventListener("visibilitychange", markRead);

  function endChat() {
    if (!window.confirm(text("end_confirm"))) {
      return;
    }
    api("POST", "/chat/visitor/end").then(function (result) {
      if (result.ok) {
        applyStatus({status: "ended"});
      } else {
        showNotice(text("error"));
      }
    });
  }

  // Nobody has answered for a while: also offer to leave the message as a ticket.
  function watchWaiting() {
    clearInterval(state.waitTimer);
    state.offerShown = false;
    state.waitTimer = setInterval(function () {
      if (!state.chat || state.status !== "waiting" || state.offerShown) {
        return;
      }
      var limit = state.offerAfter;
      if (limit === undefined) {
        state.offerAfter = null;
        api("GET", "/chat/status").then(function (result) {
          state.statusForTicket = result.ok ? result.data : null;
          state.offerAfter = result.ok ? result.data.offer_ticket_after : null;
        });
        return;
      }
      if (limit === null) {
        return;
      }
      var waited = (Date.now() - new Date(state.chat.created_at).getTime()) / 1000;
      if (waited >= limit) {
        state.offerShown = true;
        offerBox.replaceChildren(
          el("p", {text: text("long_wait")}),
          el("details", {}, [el("summary", {text: text("leave_ticket")}),
                             ticketForm(state.statusForTicket, {name: state.chat.name,
                                                                email: (state.given || {}).email})]));
        offerBox.hidden = false;
      }
    }, 1000);
  }

  // ------------------------------------------------------------------ the stream

  function handleFrame(frame) {
    var data = common.frameData(frame);
    if (data === undefined) {
      return;
    }
    if (frame.event === "chat-event") {
      addEvent(data);
    } else if (frame.event === "typing") {
      if (data && data.side === "agent") {
        typingLine.hidden = false;
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(function () { typingLine.hidden = true; }, 5000);
      }
    } else if (frame.event === "read") {
      if (data && data.side === "agent") {
        state.chat.agent_read_upto = Math.max(state.chat.agent_read_upto || 0, data.upto || 0);
        updateTicks();
      }
    } else if (frame.event === "status") {
      applyStatus(data && data.chat ? data.chat : data);
    } else if (frame.event === "reconnect") {
      stream.backoff = 1000;
      stream.reconnect(0);
    }
  }

  // Where a new stream takes up: not the newest id received but the newest received SETTLE_MS ago. Ids are
  // handed out when an event is written, so an older one can commit just after a newer one was sent; the server
  // reads past recent ids again for a few seconds, and a stream that drops within them must ask for them again
  // (what comes twice is shown once: events are kept by id).
  var SETTLE_MS = 6000;

  function resumeId() {
    var horizon = Date.now() - SETTLE_MS;
    state.arrivals = state.arrivals.filter(function (arrival) {
      if (arrival[0] < horizon) {
        state.settledId = Math.max(state.settledId, arrival[1]);
        return false;
      }
      return true;
    });
    return state.settledId;
  }

  var stream = common.eventStream({
    url: function () { return BASE + "/chat/visitor/stream?after=" + resumeId(); },
    headers: function () { return {"X-Chat-Key": state.key}; },
    lastEventId: function () { return resumeId(); },
    wanted: function () { return !!state.key && state.status !== "ended"; },
    giveUp: function (response) {
      if (response.status !== 404) {
        return false;
      }
      storeKey(null);  // the chat is gone: start afresh
      state.key = null;
      showStart();
      return true;
    },
    onOpen: function () { showNotice(""); },
    onLost: function () { showNotice(text("reconnecting")); },
    onFrame: handleFrame
  });

  // A lost network often leaves a connection that looks open until a keep-alive fails: when the browser says it
  // is offline the stream is given up at once (and retried with back-off), and taken up again when it is back.
  window.addEventListener("offline", function () {
    if (stream.controller) {
      stream.stop();
      showNotice(text("reconnecting"));
      stream.reconnect(stream.backoff);
    }
  });
  window.addEventListener("online", function () {
    if (state.key && state.chat && state.status !== "ended") {
      stream.backoff = 1000;
      stream.reconnect(0);
    }
  });

  // ------------------------------------------------------------------ start

  function mount() {
    if (!document.querySelector("link[data-hdchat]")) {
      document.head.appendChild(el("link", {rel: "stylesheet", href: BASE + "/chat/chat.css", "data-hdchat": true}));
    }
    document.body.appendChild(root);
    // A chat in progress (a reload, another page of the site): reattach at once and show it.
    if (storedKey() && !endedBefore()) {
      open();
    }
  }

  window.HelpdeskChat = {open: open, close: close};
  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
}());
