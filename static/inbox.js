// Inbox behaviours (no inline scripts: CSP). The pages work without it, only less smoothly.
(function () {
  "use strict";

  // The thread scrolls inside its pane (the reply box stays at the pane's foot).
  function threadBox() { return document.getElementById("thread"); }
  function scrollToEnd() {
    var box = threadBox();
    if (box) { box.scrollTop = box.scrollHeight; }
  }
  function nearBottom() {
    var box = threadBox();
    return !box || box.scrollTop + box.clientHeight >= box.scrollHeight - 120;
  }

  // The words shown by this script, in the reader's language (templates/inbox/_assets.html).
  var WORDS = { today: "Today" };
  try { WORDS = JSON.parse(document.getElementById("inbox-words").textContent) || WORDS; } catch (e) { /* English */ }

  // A conversation opens at its latest message.
  if (threadBox()) { scrollToEnd(); }

  var wasNearBottom = false;
  var anchor = null;
  var anchorTop = 0;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    // Refusals of a reply (422 invalid, 409 window closed / reconnect) carry the reply box to show.
    if ((detail.xhr.status === 409 || detail.xhr.status === 422) && detail.xhr.getResponseHeader("HX-Retarget") === "#reply-box") {
      detail.shouldSwap = true;
      detail.isError = false;
    }
    // A note or a status change the rules refused (422) carries its component, with the reason.
    if (detail.xhr.status === 422 && detail.target && (detail.target.id === "notes" || detail.target.id === "conversation-controls")) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
    wasNearBottom = nearBottom();
    // The first message below an "older" sentinel: where the reader is, before older ones go in above it.
    anchor = null;
    if (detail.target && detail.target.classList && detail.target.classList.contains("older-sentinel")) {
      anchor = detail.target.nextElementSibling;
      anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) { return; }
    fixDaySeparators();
    var box = threadBox();
    if (anchor && anchor.isConnected && box) {
      // Older messages went in above what the reader is looking at: keep it where it was.
      box.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
      anchor = null;
    } else if (target.id === "thread-messages" && wasNearBottom) {
      scrollToEnd();
    }
  });

  // After the reply went out, the box is empty again and keeps the focus (keyboard flow).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "reply-box" && event.detail.successful) {
      var input = document.querySelector("#reply-box [data-reply-input]");
      if (input && !input.disabled) { input.focus(); }
      scrollToEnd();
    }
  });

  // One separator per day: messages appended by polls may start a new day; an older page
  // prepended may repeat the day already shown below it.
  function fixDaySeparators() {
    var list = document.getElementById("thread-messages");
    if (!list) { return; }
    var lastDay = null;
    Array.prototype.slice.call(list.parentNode.querySelectorAll(".day-sep, .msg")).forEach(function (node) {
      if (node.classList.contains("day-sep")) {
        if (node.getAttribute("data-day") === lastDay) { node.remove(); } else { lastDay = node.getAttribute("data-day"); }
        return;
      }
      var time = node.querySelector("time[datetime]");
      var day = time ? time.getAttribute("datetime").slice(0, 10) : null;
      if (day && day !== lastDay) {
        var sep = document.createElement("div");
        sep.className = "day-sep";
        sep.setAttribute("data-day", day);
        var label = document.createElement("span");
        label.textContent = day === new Date().toISOString().slice(0, 10) ? WORDS.today : day;
        sep.appendChild(label);
        node.parentNode.insertBefore(sep, node);
        lastDay = day;
      }
    });
  }

  // The same message can arrive twice (a poll racing the answer to a send): keep one element,
  // in the older one's place, with the newer content.
  htmx.onLoad(function (root) {
    var nodes = [];
    if (root.matches && root.matches(".msg, .feed-item")) { nodes.push(root); }
    if (root.querySelectorAll) {
      root.querySelectorAll(".msg, .feed-item").forEach(function (n) { nodes.push(n); });
    }
    nodes.forEach(function (node) {
      if (!node.id) { return; }
      document.querySelectorAll("[id='" + node.id + "']").forEach(function (other) {
        if (other !== node && node.parentNode) {
          other.replaceWith(node);
        }
      });
    });
  });

  // ---- the reply box: Enter sends, Shift+Enter adds a line, "/" offers canned replies ----------

  function cannedMenu(input) {
    var form = input.form;
    return form ? form.querySelector(".canned-menu") : null;
  }

  // "/word" at the start of the box, or after a space or a new line: what to offer.
  function slashQuery(input) {
    var before = input.value.slice(0, input.selectionStart);
    var match = /(^|\s)\/([\w-]*)$/.exec(before);
    return match ? { text: match[2].toLowerCase(), start: before.length - match[2].length - 1 } : null;
  }

  function visibleOptions(menu) {
    return Array.prototype.filter.call(menu.querySelectorAll("li"), function (li) { return !li.hidden; });
  }

  function updateMenu(input) {
    var menu = cannedMenu(input);
    if (!menu) { return; }
    var query = slashQuery(input);
    if (!query) { menu.hidden = true; return; }
    var any = false;
    menu.querySelectorAll("li").forEach(function (li) {
      var shown = li.getAttribute("data-shortcut").indexOf(query.text) === 0;
      li.hidden = !shown;
      li.setAttribute("aria-selected", "false");
      any = any || shown;
    });
    var first = visibleOptions(menu)[0];
    if (first) { first.setAttribute("aria-selected", "true"); }
    menu.hidden = !any;
  }

  function insertCanned(input, li) {
    var query = slashQuery(input);
    var start = query ? query.start : input.selectionStart;
    var body = li.getAttribute("data-body");
    input.value = input.value.slice(0, start) + body + input.value.slice(input.selectionStart);
    var caret = start + body.length;
    input.setSelectionRange(caret, caret);
    cannedMenu(input).hidden = true;
    input.focus();
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-reply-input]")) { updateMenu(event.target); }
  });

  document.addEventListener("click", function (event) {
    var li = event.target.closest && event.target.closest(".canned-menu li");
    if (li) {
      var input = li.closest("form").querySelector("[data-reply-input]");
      insertCanned(input, li);
    }
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-reply-input]")) { return; }
    var menu = cannedMenu(input);
    if (menu && !menu.hidden) {
      var options = visibleOptions(menu);
      var index = options.findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (index >= 0) { options[index].setAttribute("aria-selected", "false"); }
        index = (index + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        options[index].setAttribute("aria-selected", "true");
        options[index].scrollIntoView({ block: "nearest" });
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && index >= 0) {
        event.preventDefault();
        insertCanned(input, options[index]);
        return;
      }
      if (event.key === "Escape") { menu.hidden = true; return; }
    }
    // Enter sends; Shift+Enter (or an input method composing a word) adds to the text.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      if (input.value.trim() && input.form && !input.disabled) { input.form.requestSubmit(); }
    }
  });

  // Filters apply as soon as they change (the form still has its button without JavaScript).
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") { form.requestSubmit(); }
  });
})();
