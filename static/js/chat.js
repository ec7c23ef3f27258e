// Chat console: streams answers from the session endpoint (POST chat-send, SSE) into the page.
// Stable ids: #chat-form, #chat-model, #chat-input, #chat-send, #chat-stop, #chat-status,
//   #chat-error, #chat-log, #chat-conversation (hidden id), #conversation-list,
//   #chat-message-template; data-testid="chat-message" on each message.
// Streamed text is shown as text; only the server's sanitized HTML (done event) becomes markup.
(function () {
  "use strict";

  var form = document.getElementById("chat-form");
  if (!form || !window.fetch || !window.TextDecoder) {
    return; // the plain form post still works
  }
  var input = document.getElementById("chat-input");
  var sendButton = document.getElementById("chat-send");
  var stopButton = document.getElementById("chat-stop");
  var statusLine = document.getElementById("chat-status");
  var errorLine = document.getElementById("chat-error");
  var log = document.getElementById("chat-log");
  var conversationField = document.getElementById("chat-conversation");
  var template = document.getElementById("chat-message-template");
  var controller = null;

  // On narrow screens the conversation list starts folded so the chat itself comes first.
  var sidebar = document.querySelector(".sidebar-toggle");
  if (sidebar && window.matchMedia("(max-width: 760px)").matches) {
    sidebar.open = false;
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function addMessage(role, text) {
    var empty = document.getElementById("chat-empty");
    if (empty) {
      empty.remove();
    }
    var node = template.content.firstElementChild.cloneNode(true);
    node.classList.add("msg-" + role);
    node.setAttribute("data-role", role);
    node.querySelector(".msg-role").textContent = role === "user" ? "You" : "Assistant";
    var body = node.querySelector(".msg-body");
    body.classList.add(role === "user" ? "plain" : "streaming");
    body.textContent = text;
    log.appendChild(node);
    scrollToEnd();
    return node;
  }

  function fallbacksText(attempts) {
    var failed = (attempts || []).filter(function (a) { return a.status !== "ok"; });
    if (!failed.length) {
      return "";
    }
    return "Fell back from: " + failed.map(function (a) {
      return a.model + " (" + a.status + (a.reason ? ": " + a.reason : "") + ")";
    }).join("; ");
  }

  function finish(node, message) {
    var body = node.querySelector(".msg-body");
    body.classList.remove("streaming");
    node.setAttribute("data-status", message.status);
    if (message.status === "error") {
      body.classList.add("error");
      body.textContent = message.error;
    } else {
      body.classList.add("markdown");
      body.innerHTML = message.html; // sanitized server-side (Markdown -> nh3)
    }
    if (message.model) {
      node.querySelector(".msg-meta").textContent = message.model + " via " + message.provider;
    }
    var foot = node.querySelector(".msg-foot");
    foot.textContent = (message.status === "incomplete" ? "Incomplete. " : "") +
      fallbacksText(message.attempts);
    scrollToEnd();
  }

  function remember(start) {
    conversationField.value = start.conversation;
    var deleteForm = document.getElementById("chat-delete-form");
    if (deleteForm && deleteForm.hidden) {
      deleteForm.action = start.url + "delete";
      deleteForm.hidden = false;
    }
    if (window.location.pathname !== start.url) {
      window.history.replaceState(null, "", start.url);
    }
    var list = document.getElementById("conversation-list");
    if (!list || list.querySelector('a[href="' + start.url + '"]')) {
      return;
    }
    var empty = document.getElementById("conversation-empty");
    if (empty) {
      empty.remove();
    }
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = start.url;
    link.textContent = start.title;
    link.setAttribute("aria-current", "page");
    link.setAttribute("data-testid", "conversation-link");
    item.appendChild(link);
    list.insertBefore(item, list.firstChild);
    document.getElementById("chat-title").textContent = start.title;
    document.title = start.title + " · OpenProvider";
  }

  function handle(eventData, node) {
    var body = node.querySelector(".msg-body");
    if (eventData.type === "start") {
      remember(eventData);
    } else if (eventData.type === "served") {
      node.querySelector(".msg-meta").textContent = eventData.model + " via " + eventData.provider;
      statusLine.textContent = "Answering…";
    } else if (eventData.type === "delta") {
      body.textContent += eventData.text;
      scrollToEnd();
    } else if (eventData.type === "done") {
      finish(node, eventData.message);
      return true;
    }
    return false;
  }

  async function readStream(response, node) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    var done = false;
    while (!done) {
      var chunk = await reader.read();
      if (chunk.done) {
        break;
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      var events = buffer.split("\n\n");
      buffer = events.pop();
      events.forEach(function (raw) {
        if (raw.indexOf("data: ") === 0) {
          done = handle(JSON.parse(raw.slice(6)), node) || done;
        }
      });
    }
    return done;
  }

  async function errorOf(response) {
    var type = response.headers.get("content-type") || "";
    if (type.indexOf("application/json") !== -1) {
      var data = await response.json();
      return (data.error && data.error.message) || "The message could not be sent.";
    }
    if (response.redirected || response.status === 403) {
      return "Your session has ended. Reload the page and sign in again.";
    }
    return "The message could not be sent (HTTP " + response.status + ").";
  }

  function setBusy(busy) {
    sendButton.disabled = busy;
    stopButton.hidden = !busy;
    statusLine.textContent = busy ? "Waiting for the model…" : "";
  }

  async function send() {
    var text = input.value.trim();
    if (!text || controller) {
      if (!text) {
        errorLine.textContent = "Write a message first.";
      }
      return;
    }
    errorLine.textContent = "";
    var data = new FormData(form);
    controller = new AbortController();
    setBusy(true);
    var userNode = addMessage("user", text);
    var node = null;
    try {
      var response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { "Accept": "text/event-stream" },
        credentials: "same-origin",
        signal: controller.signal
      });
      var type = response.headers.get("content-type") || "";
      if (!response.ok || type.indexOf("text/event-stream") === -1) {
        userNode.remove();
        errorLine.textContent = await errorOf(response);
        return;
      }
      input.value = "";
      node = addMessage("assistant", "");
      if (!(await readStream(response, node))) {
        node.querySelector(".msg-foot").textContent = "The connection ended early; the answer is incomplete.";
      }
    } catch (error) {
      if (node && error.name === "AbortError") {
        node.querySelector(".msg-body").classList.remove("streaming");
        node.setAttribute("data-status", "incomplete");
        node.querySelector(".msg-foot").textContent = "Stopped. The answer so far is saved as incomplete.";
      } else if (error.name !== "AbortError") {
        errorLine.textContent = "The connection failed. Check your network and try again.";
      }
    } finally {
      controller = null;
      setBusy(false);
      input.focus();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });

  stopButton.addEventListener("click", function () {
    if (controller) {
      controller.abort();
    }
  });
})();
