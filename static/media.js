// Media in the reply box (no inline scripts: CSP): drag-and-drop a file onto the box, show its
// name, and record a voice note where the browser records Ogg Opus (what WhatsApp plays).
// Its words come translated from the record button's data-* attributes (templates/media/_attach.html).
(function () {
  "use strict";

  var OGG_OPUS = "audio/ogg;codecs=opus";
  var ENGLISH = {
    record: "Record a voice note", stop: "Stop recording", ready: "Voice note ready",
    noMicrophone: "The browser may not use the microphone."
  };

  function words(form, key) {
    var button = form && form.querySelector(".reply-record");
    return (button && button.dataset[key]) || ENGLISH[key];
  }

  function controls(form) {
    return {
      file: form.querySelector("input[type=file][name=file]"),
      voice: form.querySelector("input[name=voice]"),
      name: form.querySelector(".reply-file-name"),
      body: form.querySelector("textarea[name=body]"),
      record: form.querySelector(".reply-record")
    };
  }

  function chosen(form, isVoice) {
    var c = controls(form);
    var file = c.file && c.file.files && c.file.files[0];
    if (c.voice) { c.voice.value = isVoice ? "1" : ""; }
    if (c.name) { c.name.textContent = file ? (isVoice ? words(form, "ready") : file.name) : ""; }
    // A file may go without text (the text is only its caption).
    if (c.body) { c.body.required = !file; }
  }

  function setFile(form, file, isVoice) {
    var c = controls(form);
    if (!c.file || c.file.disabled) { return; }
    var transfer = new DataTransfer();
    transfer.items.add(file);
    c.file.files = transfer.files;
    chosen(form, isVoice);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("#reply-box input[type=file][name=file]")) {
      chosen(event.target.form, false);
    }
  });

  document.addEventListener("dragover", function (event) {
    var form = event.target.closest && event.target.closest("#reply-box");
    if (form) { event.preventDefault(); form.classList.add("dragging"); }
  });
  document.addEventListener("dragleave", function (event) {
    var form = event.target.closest && event.target.closest("#reply-box");
    if (form) { form.classList.remove("dragging"); }
  });
  document.addEventListener("drop", function (event) {
    var form = event.target.closest && event.target.closest("#reply-box");
    if (!form) { return; }
    event.preventDefault();
    form.classList.remove("dragging");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      setFile(form, event.dataTransfer.files[0], false);
    }
  });

  var canRecord = window.MediaRecorder && MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(OGG_OPUS) &&
    navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  var recorder = null;

  function showRecorders(root) {
    if (!canRecord) { return; }
    (root.querySelectorAll ? root : document).querySelectorAll(".reply-record").forEach(function (button) {
      button.hidden = false;
    });
  }
  htmx.onLoad(showRecorders);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".reply-record");
    if (!button || !canRecord) { return; }
    var form = button.form;
    if (recorder && recorder.state === "recording") {
      recorder.stop();
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var chunks = [];
      recorder = new MediaRecorder(stream, { mimeType: OGG_OPUS });
      recorder.ondataavailable = function (e) { if (e.data.size) { chunks.push(e.data); } };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        button.textContent = words(form, "record");
        var blob = new Blob(chunks, { type: "audio/ogg" });
        setFile(form, new File([blob], "voice-note.ogg", { type: "audio/ogg" }), true);
      };
      recorder.start();
      button.textContent = words(form, "stop");
    }).catch(function () {
      controls(form).name.textContent = words(form, "noMicrophone");
    });
  });
})();
