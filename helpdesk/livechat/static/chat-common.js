// What the visitor's panel (widget.js) and the agents' inbox (desk.js) share: texts with fields, building elements,
// the JSON API call, and the Server-Sent Events stream read with fetch() (its frame parser and its reconnecting
// with back-off). The server sends this file in front of each script (/chat/widget.js, /chat/desk.js), so the panel
// stays one file for other websites; the scripts find these functions on window.HelpdeskChatCommon.
window.HelpdeskChatCommon = (function () {
  "use strict";

  // text(name, fields) for a table of translated texts: "{field}" in a text is filled in from fields.
  function texts(table) {
    return function text(name, fields) {
      var value = table[name] || name;
      Object.keys(fields || {}).forEach(function (field) {
        value = value.split("{" + field + "}").join(fields[field]);
      });
      return value;
    };
  }

  // An element: attrs.text is its text, attrs.on its listeners; null, undefined and false attributes are left out,
  // true ones are set empty. Children are nodes or strings; null ones are skipped.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attrs[name];
      } else if (name === "on") {
        Object.keys(attrs.on).forEach(function (type) { node.addEventListener(type, attrs.on[type]); });
      } else if (attrs[name] !== null && attrs[name] !== undefined && attrs[name] !== false) {
        node.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  // api(method, path, body, extraHeaders) against options.base, answering {ok, status, data}. The two sides
  // authenticate differently: options.headers(method) adds theirs (the visitor's key, the agent's CSRF token) and
  // options.credentials() says whether cookies go along.
  function apiClient(options) {
    return function api(method, path, body, extraHeaders) {
      var headers = {"Accept": "application/json"};
      var own = options.headers ? options.headers(method) : {};
      Object.keys(own).forEach(function (name) { headers[name] = own[name]; });
      Object.keys(extraHeaders || {}).forEach(function (name) { headers[name] = extraHeaders[name]; });
      var request = {method: method, headers: headers,
                     credentials: options.credentials ? options.credentials() : "same-origin"};
      if (body instanceof FormData) {
        request.body = body;
      } else if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        request.body = JSON.stringify(body);
      }
      return fetch(options.base + path, request).then(function (response) {
        if (response.status === 204) {
          return {ok: true, status: 204, data: null};
        }
        return response.json().catch(function () { return null; }).then(function (data) {
          return {ok: response.ok, status: response.status, data: data};
        });
      });
    };
  }

  // A time of day in the reader's language ("" for a date the browser cannot read).
  function clockTime(iso, lang) {
    try {
      return new Date(iso).toLocaleTimeString(lang, {hour: "2-digit", minute: "2-digit"});
    } catch (e) {
      return "";
    }
  }

  // Events arrive in id order, except a reply to one's own POST racing the stream: keep the list sorted by id.
  function insertById(list, item, id) {
    var before = null;
    Array.prototype.some.call(list.children, function (child) {
      if (Number(child.dataset.id) > id) {
        before = child;
        return true;
      }
      return false;
    });
    list.insertBefore(item, before);
  }

  // The ticks on one's own messages: one for sent, two once the other side has read up to its id. prefix goes
  // before them (the inbox sets them after the time with a space), readClass marks the read ones when given.
  function markTicks(spans, upto, text, prefix, readClass) {
    spans.forEach(function (span) {
      var read = Number(span.closest("li").dataset.id) <= upto;
      span.textContent = (prefix || "") + (read ? "✓✓" : "✓");
      span.title = read ? text("read") : text("sent");
      if (readClass) {
        span.classList.toggle(readClass, read);
      }
    });
  }

  // A frame's JSON data: null for none, undefined for data that is not JSON (such a frame is passed over).
  function frameData(frame) {
    try {
      return frame.data ? JSON.parse(frame.data) : null;
    } catch (e) {
      return undefined;
    }
  }

  // The SSE format: frames separated by a blank line; "field: value" lines; ":" starts a comment. onId hears every
  // "id" line as it is read, before its frame is handed on.
  function readFrames(reader, onFrame, onId) {
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          return;
        }
        buffer += decoder.decode(chunk.value, {stream: true}).replace(/\r\n?/g, "\n");
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          var raw = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          var frame = {event: "message", data: "", id: null};
          var data = [];
          raw.split("\n").forEach(function (line) {
            if (!line || line.charAt(0) === ":") {
              return;
            }
            var colon = line.indexOf(":");
            var name = colon < 0 ? line : line.slice(0, colon);
            var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (name === "data") {
              data.push(value);
            } else if (name === "event") {
              frame.event = value;
            } else if (name === "id") {
              frame.id = value;
              if (onId) {
                onId(value);
              }
            }
          });
          if (data.length || frame.event !== "message") {
            frame.data = data.join("\n");
            onFrame(frame);
          }
        }
        return pump();
      });
    }
    return pump();
  }

  // A stream that reconnects: after a clean end at once (at the current back-off), after a failure with a back-off
  // that doubles up to 30 s and starts again at 1 s once a connection stands. Options:
  //   url()            where to connect (asked again at each connection)
  //   headers()        headers besides Accept and Last-Event-ID
  //   credentials      fetch's credentials (default "same-origin")
  //   lastEventId()    the Last-Event-ID to send; without it, the highest numeric frame id read so far
  //   wanted()         false when there is nothing to stream (no connection, no reconnecting)
  //   giveUp(response) true for an answer after which the stream should not be retried (the caller deals with it)
  //   onOpen()         a connection stands;  onLost()  it broke (a retry is scheduled);  onFrame(frame)  a frame
  function eventStream(options) {
    var stream = {backoff: 1000, controller: null, timer: null, lastEventId: 0};

    function wanted() {
      return !options.wanted || options.wanted();
    }

    function noteId(value) {
      if (Number(value) > stream.lastEventId) {
        stream.lastEventId = Number(value);
      }
    }

    stream.stop = function () {
      clearTimeout(stream.timer);
      if (stream.controller) {
        stream.controller.abort();
        stream.controller = null;
      }
    };

    stream.reconnect = function (delay) {
      clearTimeout(stream.timer);
      if (wanted()) {
        stream.timer = setTimeout(stream.connect, delay);
      }
    };

    stream.connect = function () {
      stream.stop();
      if (!wanted()) {
        return;
      }
      var controller = new AbortController();
      stream.controller = controller;
      var headers = {"Accept": "text/event-stream"};
      var own = options.headers ? options.headers() : {};
      Object.keys(own).forEach(function (name) { headers[name] = own[name]; });
      var lastId = options.lastEventId ? options.lastEventId() : stream.lastEventId;
      if (lastId) {
        headers["Last-Event-ID"] = String(lastId);
      }
      fetch(options.url(), {headers: headers, credentials: options.credentials || "same-origin",
                            signal: controller.signal, cache: "no-store"})
        .then(function (response) {
          if (options.giveUp && options.giveUp(response)) {
            if (stream.controller === controller) {
              stream.controller = null;
            }
            return null;
          }
          if (!response.ok || !response.body) {
            throw new Error("stream " + response.status);
          }
          stream.backoff = 1000;
          if (options.onOpen) {
            options.onOpen();
          }
          return readFrames(response.body.getReader(), options.onFrame, noteId);
        })
        .then(function () {
          if (stream.controller === controller) {
            stream.reconnect(stream.backoff);
          }
        })
        .catch(function () {
          if (stream.controller !== controller) {
            return;  // stopped on purpose
          }
          if (options.onLost) {
            options.onLost();
          }
          stream.reconnect(stream.backoff);
          stream.backoff = Math.min(stream.backoff * 2, 30000);
        });
    };

    return stream;
  }

  return {texts: texts, el: el, apiClient: apiClient, clockTime: clockTime, insertById: insertById,
          markTicks: markTicks, frameData: frameData, readFrames: readFrames, eventStream: eventStream};
}());
