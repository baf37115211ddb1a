// Staying on top of the inbox: the unread count in the tab title and the navigation, and
// opt-in desktop notifications and a sound for new conversations and for new messages in
// conversations assigned to me. Everything is read from the conversation list the page
// already polls (its data-* attributes); no other request is made.
(function () {
  "use strict";

  var NOTIFY_KEY = "maestra.notifications";
  var SOUND_KEY = "maestra.sound";
  var previous = null;  // conversation id -> {unread, mine}, as last seen
  // The words shown, in the reader's language (templates/inbox/_assets.html); English without them.
  var WORDS = {
    new_conversation: "New conversation: {name}", assigned_to_you: "{name} (assigned to you)",
    no_notifications: "This browser cannot show notifications.", turn_off: "Turn off notifications",
    turn_on: "Turn on notifications", blocked: "Notifications are blocked in the browser's site settings.",
    on: "Notifications on"
  };
  try {
    var given = JSON.parse(document.getElementById("inbox-words").textContent);
    Object.keys(WORDS).forEach(function (key) { if (given && given[key]) { WORDS[key] = given[key]; } });
  } catch (e) { /* English */ }
  function named(words, name) { return words.split("{name}").join(name); }

  function stored(key) { try { return window.localStorage.getItem(key) === "on"; } catch (e) { return false; } }
  function store(key, on) { try { window.localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* private mode */ } }

  function updateCounts(list) {
    var total = parseInt(list.getAttribute("data-unread-total") || "0", 10) || 0;
    var title = document.title.replace(/^\(\d+\) /, "");
    document.title = (total ? "(" + total + ") " : "") + title;
    var badge = document.getElementById("nav-unread");
    if (badge) {
      badge.textContent = String(total);
      badge.hidden = total === 0;
    }
  }

  function snapshot(list) {
    var rows = {};
    list.querySelectorAll("[data-conversation]").forEach(function (row) {
      rows[row.getAttribute("data-conversation")] = {
        unread: parseInt(row.getAttribute("data-unread") || "0", 10) || 0,
        mine: row.getAttribute("data-mine") === "1",
        selected: row.classList.contains("selected"),
        name: row.getAttribute("data-name") || "",
        preview: row.getAttribute("data-preview") || "",
      };
    });
    return rows;
  }

  // What deserves an alert since the last poll: a conversation that was not listed and has
  // unread messages (a new conversation), or more unread messages in one assigned to me.
  function newEvents(before, now) {
    var events = [];
    Object.keys(now).forEach(function (id) {
      var row = now[id];
      var old = before[id];
      if (row.selected && document.visibilityState === "visible") { return; }  // being read right now
      if (!old && row.unread > 0) {
        events.push({ title: named(WORDS.new_conversation, row.name), body: row.preview, id: id });
      } else if (old && row.mine && row.unread > old.unread) {
        events.push({ title: named(WORDS.assigned_to_you, row.name), body: row.preview, id: id });
      }
    });
    return events;
  }

  function alert(events, settings) {
    if (!events.length) { return; }
    if (stored(NOTIFY_KEY) && "Notification" in window && Notification.permission === "granted") {
      events.slice(0, 3).forEach(function (e) {
        var note = new Notification(e.title, { body: e.body, tag: "maestra-" + e.id });
        note.onclick = function () { window.focus(); };
      });
    }
    if (stored(SOUND_KEY) && settings) {
      var audio = new Audio(settings.getAttribute("data-sound"));
      audio.play().catch(function () { /* the browser wants a click first */ });
    }
  }

  function onList(list) {
    updateCounts(list);
    var now = snapshot(list);
    if (previous !== null) { alert(newEvents(previous, now), document.getElementById("notify-settings")); }
    previous = now;
  }

  // ---- the opt-in controls -------------------------------------------------------------------

  function showState(settings) {
    var state = settings.querySelector("[data-notify='state']");
    var button = settings.querySelector("[data-notify='enable']");
    if (!("Notification" in window)) {
      button.hidden = true;
      state.textContent = WORDS.no_notifications;
      return;
    }
    var on = stored(NOTIFY_KEY) && Notification.permission === "granted";
    button.textContent = on ? WORDS.turn_off : WORDS.turn_on;
    state.textContent = Notification.permission === "denied" ? WORDS.blocked :
      on ? WORDS.on : "";
    button.hidden = Notification.permission === "denied";
  }

  function setUp(settings) {
    settings.hidden = false;
    var sound = settings.querySelector("[data-notify='sound']");
    sound.checked = stored(SOUND_KEY);
    sound.addEventListener("change", function () { store(SOUND_KEY, sound.checked); });
    settings.querySelector("[data-notify='enable']").addEventListener("click", function () {
      if (stored(NOTIFY_KEY) && Notification.permission === "granted") {
        store(NOTIFY_KEY, false);
        showState(settings);
        return;
      }
      // Asked only on this click: browsers ignore (and penalise) permission prompts nobody asked for.
      Promise.resolve(Notification.requestPermission()).then(function (permission) {
        store(NOTIFY_KEY, permission === "granted");
        showState(settings);
      });
    });
    showState(settings);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var settings = document.getElementById("notify-settings");
    if (settings) { setUp(settings); }
    var list = document.getElementById("conversation-list");
    if (list) { onList(list); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var list = document.getElementById("conversation-list");
    if (list && target && (target === list || target.id === "conversation-list" || !target.isConnected)) { onList(list); }
  });
})();
