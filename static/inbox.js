// Inbox behaviours (no inline scripts: CSP). The pages work without it, only less smoothly.
(function () {
  "use strict";

  // A conversation opens at its latest message; older pages load when the top is revealed.
  var thread = document.getElementById("thread");
  if (thread) {
    window.scrollTo(0, document.body.scrollHeight);
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

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
    if (anchor && anchor.isConnected) {
      // Older messages went in above what the reader is looking at: keep it where it was
      // (a no-op where the browser's own scroll anchoring already did).
      window.scrollBy(0, anchor.getBoundingClientRect().top - anchorTop);
      anchor = null;
    } else if (target.id === "thread-messages" && wasNearBottom) {
      window.scrollTo(0, document.body.scrollHeight);
    }
  });

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
})();
