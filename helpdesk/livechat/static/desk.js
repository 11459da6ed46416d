// The console's chat inbox: availability (and a ping every 20 s while the page is open), the waiting chats with
// their live wait time, the agent's own chats as tabs, the conversation with notes, canned responses, transfer,
// convert to ticket, end, and the customer's tickets and services beside it. Live updates come from the desk
// stream (Server-Sent Events read with fetch, reconnecting with back-off); every change is a POST to the door.
// What it shares with the visitor's panel is chat-common.js, served in front of it.
(function () {
  "use strict";
  var box = document.getElementById("chat-inbox");
  if (!box || !window.fetch || !window.TextDecoder || !window.HelpdeskChatCommon) {
    return;
  }
  var BASE = box.dataset.base;
  var CSRF = box.dataset.csrf;
  var LANG = box.dataset.lang || undefined;
  var T = JSON.parse(document.getElementById("chat-texts").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var common = window.HelpdeskChatCommon;
  var text = common.texts(T);
  var el = common.el;
  // The agent's session cookie says who it is; every change also carries the page's CSRF token.
  var api = common.apiClient({
    base: BASE,
    headers: function (method) { return method !== "GET" ? {"X-CSRFToken": CSRF} : {}; }
  });

  var state = {waiting: [], mine: [], chats: {}, current: null, unread: {},
               lastTyping: 0, typingTimer: null, reloadTimer: null};

  function notice(message) {
    $("chat-notice").textContent = message || "";
    $("chat-notice").hidden = !message;
  }

  function failed(result) {
    var data = result && result.data;
    var fields = data && data.fields ? Object.values(data.fields) : [];
    notice((data && (fields[0] || data.error)) || text("error"));
  }

  // ------------------------------------------------------------------ availability

  $("chat-availability").addEventListener("change", function (event) {
    api("POST", "/desk/availability", {availability: event.target.value}).then(function (result) {
      if (!result.ok) {
        failed(result);
      }
    });
  });

  function ping() {
    api("POST", "/desk/ping").catch(function () { /* offline: the next ping */ });
  }

  // ------------------------------------------------------------------ the waiting list and the tabs

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var two = new Intl.NumberFormat(LANG, {minimumIntegerDigits: 2});
    var minutes = Math.floor(seconds / 60);
    return new Intl.NumberFormat(LANG).format(minutes) + ":" + two.format(seconds % 60);
  }

  function waitedSince(chat) {
    return (Date.now() - new Date(chat.created_at).getTime()) / 1000;
  }

  function tickWaits() {
    document.querySelectorAll(".chat-wait[data-since]").forEach(function (span) {
      span.textContent = text("waited", {duration: duration((Date.now() - Number(span.dataset.since)) / 1000)});
    });
  }

  function renderWaiting() {
    var list = $("chat-waiting");
    if (!state.waiting.length) {
      list.replaceChildren(el("li", {"class": "hint", text: text("no_waiting")}));
      return;
    }
    list.replaceChildren.apply(list, state.waiting.map(function (chat) {
      return el("li", {"data-chat": chat.id}, [
        el("strong", {dir: "auto", text: chat.name || text("guest")}),
        chat.department ? el("span", {"class": "hint", text: " · " + chat.department.name}) : null,
        el("span", {"class": "chat-wait", "data-since": new Date(chat.created_at).getTime()}),
        el("button", {type: "button", "class": "button primary", text: text("accept"),
                      on: {click: function () { accept(chat.id); }}})
      ]);
    }));
    tickWaits();
  }

  function renderTabs() {
    var tabs = $("chat-tabs");
    tabs.replaceChildren.apply(tabs, state.mine.map(function (chat) {
      var unread = Object.keys(state.unread[chat.id] || {}).length;
      return el("button", {type: "button", role: "tab", id: "chat-tab-" + chat.id, "data-chat": chat.id,
                           "aria-selected": String(chat.id === state.current), "aria-controls": "chat-pane",
                           on: {click: function () { select(chat.id); }}}, [
        el("bdi", {text: chat.name || text("guest")}),
        unread ? el("span", {"class": "chat-unread", text: String(unread)}) : null
      ]);
    }));
    $("chat-empty").textContent = state.mine.length ? "" : text("no_mine");
    $("chat-empty").hidden = !!state.mine.length;
  }

  function loadState() {
    return api("GET", "/desk/state").then(function (result) {
      if (result.ok) {
        applyDeskState(result.data);
      }
    });
  }

  function applyDeskState(desk) {
    state.waiting = desk.waiting || [];
    state.mine = desk.mine || [];
    if (desk.availability && document.activeElement !== $("chat-availability")) {
      $("chat-availability").value = desk.availability;
    }
    renderWaiting();
    var mineIds = state.mine.map(function (chat) { return chat.id; });
    var shown = state.chats[state.current];
    if (state.current && mineIds.indexOf(state.current) < 0 && !(shown && shown.chat.status === "ended")) {
      // It left the agent's hands: ended by the visitor (read it again to show how it ended) or passed on.
      select(state.current, true);
    }
    if (!state.current && mineIds.length) {
      select(mineIds[0]);
    }
    renderTabs();
  }

  function reloadSoon() {
    clearTimeout(state.reloadTimer);
    state.reloadTimer = setTimeout(loadState, 200);
  }

  function accept(id) {
    api("POST", "/desk/chats/" + id + "/accept").then(function (result) {
      if (!result.ok) {
        if (result.status === 409) {
          notice(text("taken"));
        } else {
          failed(result);
        }
        loadState();
        return;
      }
      notice("");
      select(id);
      loadState();
    });
  }

  // ------------------------------------------------------------------ one conversation

  function systemSentence(event) {
    return event.body || "";  // the server words system events in the reader's language
  }

  function eventItem(chatId, event) {
    if (event.kind === "system") {
      return el("li", {"class": "chat-system", "data-id": event.id}, [systemSentence(event)]);
    }
    var note = event.kind === "note";
    var files = (event.attachments || []).map(function (file) {
      return el("li", {}, [el("a", {href: BASE + "/desk/attachments/" + file.id, download: file.filename,
                                    text: file.filename, title: text("download", {filename: file.filename})})]);
    });
    var mine = event.side === "agent";
    return el("li", {"class": note ? "chat-note" : (mine ? "chat-agent" : "chat-customer"), "data-id": event.id}, [
      el("span", {"class": "chat-author"}, [el("bdi", {text: event.author || ""}),
        note ? " · " + text("note") : null]),
      event.body ? el("p", {"class": "chat-text", dir: "auto", text: event.body}) : null,
      files.length ? el("ul", {}, files) : null,
      el("span", {"class": "chat-meta"}, [
        el("time", {datetime: event.created_at, text: common.clockTime(event.created_at, LANG)}),
        mine && !note ? el("span", {"class": "chat-ticks"}) : null
      ])
    ]);
  }

  function addEvent(chatId, event) {
    var entry = state.chats[chatId];
    if (!entry || !event || !event.id || entry.events[event.id]) {
      return;
    }
    entry.events[event.id] = event;
    entry.lastId = Math.max(entry.lastId, event.id);
    if (event.kind === "system" && event.data && event.data.type === "converted" && !entry.chat.ticket) {
      entry.chat.ticket = {number: event.data.number};
    }
    if (state.current !== chatId) {
      countUnread(chatId, event);
      return;
    }
    var log = $("chat-log");
    common.insertById(log, eventItem(chatId, event), event.id);
    log.scrollTop = log.scrollHeight;
    if (event.side === "customer") {
      $("chat-typing").textContent = "";
      markRead();
    }
    updateTicks();
  }

  // A customer's message in a chat that is not on screen, past what the agent has read of it: a count on its tab.
  function countUnread(chatId, event) {
    var chat = state.mine.filter(function (c) { return c.id === chatId; })[0];
    if (event.side !== "customer" || (chat && event.id <= (chat.agent_read_upto || 0))) {
      return;
    }
    state.unread[chatId] = state.unread[chatId] || {};
    state.unread[chatId][event.id] = true;
    renderTabs();
  }

  function updateTicks() {
    var entry = state.chats[state.current];
    if (!entry) {
      return;
    }
    var upto = entry.chat.customer_read_upto || 0;
    common.markTicks(document.querySelectorAll("#chat-log .chat-agent .chat-ticks"), upto, text, " ");
  }

  function markRead() {
    var entry = state.chats[state.current];
    if (!entry || document.hidden || (entry.chat.agent_read_upto || 0) >= entry.lastId ||
        entry.chat.status !== "active") {
      return;
    }
    entry.chat.agent_read_upto = entry.lastId;
    api("POST", "/desk/chats/" + state.current + "/read", {upto: entry.lastId}).catch(function () {});
  }

  document.addEventListener("visibilitychange", markRead);

  function showTicket(entry) {
    var ticket = entry.chat.ticket;
    var p = $("chat-ticket");
    if (!ticket) {
      p.hidden = true;
      return;
    }
    var label = text("ticket_made", {number: ticket.number});
    var url = ticket.url || box.dataset.ticketUrl.replace("123456789", String(ticket.number));
    p.replaceChildren(el("a", {"class": "chat-ticket-link", href: url, text: label}));
    p.hidden = false;
    $("chat-convert").disabled = true;
  }

  function renderSide(customer, chat) {
    $("chat-customer").textContent = [chat.name, chat.email].filter(Boolean).join(" · ");
    var tickets = (customer && customer.tickets) || [];
    $("chat-tickets").replaceChildren.apply($("chat-tickets"), tickets.length ? tickets.map(function (ticket) {
      return el("li", {}, [el("a", {href: ticket.url, text: "#" + ticket.number}), " ",
                           el("bdi", {text: ticket.subject}), " ",
                           el("span", {"class": "badge", text: ticket.status})]);
    }) : [el("li", {"class": "hint", text: text("no_tickets")})]);
    var services = (customer && customer.services) || [];
    $("chat-services").replaceChildren.apply($("chat-services"), services.length ? services.map(function (s) {
      return el("li", {}, [el("bdi", {text: s.name}), " ", el("span", {"class": "badge", text: s.status || ""})]);
    }) : [el("li", {"class": "hint", text: text("no_services")})]);
  }

  function renderPane() {
    var entry = state.chats[state.current];
    if (!entry) {
      $("chat-pane").hidden = true;
      return;
    }
    var chat = entry.chat;
    $("chat-pane").hidden = false;
    $("chat-pane").setAttribute("aria-labelledby", "chat-tab-" + chat.id);
    $("chat-title").textContent = chat.name + (chat.department ? " · " + chat.department.name : "");
    $("chat-typing").textContent = "";
    $("chat-log").replaceChildren();
    var ids = Object.keys(entry.events).map(Number).sort(function (a, b) { return a - b; });
    ids.forEach(function (id) { $("chat-log").appendChild(eventItem(chat.id, entry.events[id])); });
    $("chat-log").scrollTop = $("chat-log").scrollHeight;
    var ended = chat.status === "ended";
    $("chat-composer").hidden = ended;
    $("chat-end").disabled = ended;
    $("chat-transfer-button").disabled = ended;
    $("chat-convert").disabled = !!chat.ticket;
    showTicket(entry);
    renderSide(entry.customer, chat);
    updateTicks();
    markRead();
  }

  function select(id, leaving) {
    state.current = id;
    state.unread[id] = {};
    renderTabs();
    return api("GET", "/desk/chats/" + id).then(function (result) {
      if (!result.ok) {
        failed(result);
        return;
      }
      var entry = {chat: result.data.chat, customer: result.data.customer, events: {}, lastId: 0};
      (result.data.events || []).forEach(function (event) {
        entry.events[event.id] = event;
        entry.lastId = Math.max(entry.lastId, event.id);
      });
      state.chats[id] = entry;
      if (leaving && entry.chat.status !== "ended") {
        if (state.current === id) {
          state.current = null;
          $("chat-pane").hidden = true;
        }
        return;
      }
      if (state.current === id) {
        renderPane();
        loadCanned(id);
      }
    });
  }

  function loadCanned(id) {
    api("GET", "/desk/canned?chat=" + id).then(function (result) {
      var select = $("chat-canned");
      while (select.options.length > 1) {
        select.remove(1);
      }
      ((result.ok && result.data) || []).forEach(function (canned) {
        var option = el("option", {value: canned.id, text: canned.title});
        option.dataset.body = canned.body;
        select.appendChild(option);
      });
    });
  }

  $("chat-canned").addEventListener("change", function (event) {
    var option = event.target.selectedOptions[0];
    if (option && option.dataset.body) {
      var area = $("chat-body");
      area.value = area.value ? area.value.replace(/\s*$/, "\n") + option.dataset.body : option.dataset.body;
      area.focus();
    }
    event.target.value = "";
  });

  function post(kind) {
    var id = state.current;
    var area = $("chat-body");
    var file = $("chat-file").files[0];
    var message = area.value.trim();
    if (!id || (!message && !file)) {
      return;
    }
    var payload = {body: message};
    if (file && kind === "messages") {
      payload = new FormData();
      payload.append("body", message);
      payload.append("file", file);
    }
    // The box empties at once (the agent may type the next line meanwhile) and gets the text back on a failure.
    area.value = "";
    if (kind === "messages") {
      $("chat-file").value = "";
    }
    function giveBack() {
      if (!area.value && state.current === id) {
        area.value = message;
      }
    }
    api("POST", "/desk/chats/" + id + "/" + kind, payload).then(function (result) {
      if (!result.ok) {
        giveBack();
        failed(result);
        return;
      }
      notice("");
      addEvent(id, result.data);
    }).catch(function () {
      giveBack();
      notice(text("error"));
    });
  }

  $("chat-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    post("messages");
  });
  $("chat-note-button").addEventListener("click", function () { post("notes"); });
  $("chat-body").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey) {
      event.preventDefault();
      post("messages");
    }
  });
  $("chat-body").addEventListener("input", function () {
    var now = Date.now();
    if (state.current && now - state.lastTyping > 3000) {
      state.lastTyping = now;
      api("POST", "/desk/chats/" + state.current + "/typing").catch(function () {});
    }
  });

  $("chat-transfer-button").addEventListener("click", function () {
    var value = $("chat-transfer").value;
    if (!state.current || !value) {
      return;
    }
    var parts = value.split(":");
    var body = {};
    body[parts[0]] = Number(parts[1]);
    api("POST", "/desk/chats/" + state.current + "/transfer", body).then(function (result) {
      if (!result.ok) {
        failed(result);
        return;
      }
      notice("");
      $("chat-transfer").value = "";
      state.current = null;
      $("chat-pane").hidden = true;
      loadState();
    });
  });

  $("chat-convert").addEventListener("click", function () {
    var id = state.current;
    if (!id || !window.confirm(text("convert_confirm"))) {
      return;
    }
    api("POST", "/desk/chats/" + id + "/convert", {}).then(function (result) {
      if (!result.ok) {
        failed(result);
        return;
      }
      notice("");
      var entry = state.chats[id];
      entry.chat.ticket = result.data.ticket;
      if (state.current === id) {
        showTicket(entry);
        select(id);  // the customer's tickets beside it now include this one
      }
    });
  });

  $("chat-end").addEventListener("click", function () {
    var id = state.current;
    if (!id || !window.confirm(text("end_confirm"))) {
      return;
    }
    api("POST", "/desk/chats/" + id + "/end").then(function (result) {
      if (!result.ok) {
        failed(result);
        return;
      }
      state.chats[id].chat.status = "ended";
      renderPane();
      loadState();
    });
  });

  // ------------------------------------------------------------------ the desk stream

  function handleFrame(frame) {
    var data = common.frameData(frame);
    if (data === undefined) {
      return;
    }
    if (frame.event === "desk") {
      if (data && data.waiting) {
        applyDeskState(data);
      } else {
        reloadSoon();
      }
      return;
    }
    if (!data) {
      return;
    }
    var chatId = typeof data.chat === "object" && data.chat ? data.chat.id : data.chat;
    var entry = state.chats[chatId];
    if (frame.event === "chat-event") {
      if (entry) {
        addEvent(chatId, data);
      } else {
        countUnread(chatId, data);
      }
    } else if (frame.event === "typing") {
      if (chatId === state.current && data.side === "customer" && entry) {
        $("chat-typing").textContent = text("typing", {name: entry.chat.name});
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(function () { $("chat-typing").textContent = ""; }, 5000);
      }
    } else if (frame.event === "read") {
      if (entry && data.side === "customer") {
        entry.chat.customer_read_upto = Math.max(entry.chat.customer_read_upto || 0, data.upto || 0);
        if (chatId === state.current) {
          updateTicks();
        }
      }
    } else if (frame.event === "status") {
      var chat = typeof data.chat === "object" && data.chat ? data.chat : data;
      if (entry && chat.status) {
        Object.keys(chat).forEach(function (name) { entry.chat[name] = chat[name]; });
        if (chatId === state.current) {
          renderPane();
        }
      }
      reloadSoon();
    } else if (frame.event === "reconnect") {
      stream.connect();
    }
  }

  var stream = common.eventStream({
    url: function () { return BASE + "/desk/stream"; },
    onOpen: function () {
      notice("");
      // Whatever happened while we were away: the first desk frame brings the inbox; read the open chat again.
      if (state.connectedBefore && state.current) {
        select(state.current);
      }
      state.connectedBefore = true;
    },
    onLost: function () { notice(text("reconnecting")); },
    onFrame: handleFrame
  });

  window.addEventListener("offline", function () {
    notice(text("reconnecting"));
  });
  window.addEventListener("online", function () {
    stream.backoff = 1000;
    stream.connect();
  });

  renderWaiting();
  renderTabs();
  ping();
  setInterval(ping, 20000);
  setInterval(tickWaits, 1000);
  stream.connect();
}());
