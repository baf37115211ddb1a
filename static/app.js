// Small behaviours the CSP allows (no inline scripts): nothing here is required for the pages to work.
// Its words, in the reader's language, come from a JSON data block #app-words when the page has one
// ({"error": "... {status} ...", "copied": "..."}); English otherwise.
var APP_WORDS = { error: "Error {status}: the action could not be completed. Reload the page and try again.", copied: "Copied" };
try {
  var givenWords = JSON.parse(document.getElementById("app-words").textContent);
  Object.keys(APP_WORDS).forEach(function (key) { if (givenWords && givenWords[key]) { APP_WORDS[key] = givenWords[key]; } });
} catch (e) { /* English */ }
document.addEventListener("htmx:responseError", function (event) {
  // Show a server error fragment even though htmx does not swap 4xx/5xx by default.
  var xhr = event.detail.xhr;
  var target = event.detail.target;
  if (xhr && xhr.responseText && target && xhr.getResponseHeader("Content-Type") &&
      xhr.getResponseHeader("Content-Type").indexOf("text/html") === 0) {
    var box = document.createElement("div");
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    box.textContent = APP_WORDS.error.split("{status}").join(String(xhr.status));
    target.insertAdjacentElement("beforebegin", box);
  }
});

// Copy buttons ([data-copy] names the field): shown only where the clipboard can be used.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () { button.textContent = button.getAttribute("data-copied") || APP_WORDS.copied; });
    });
  });
});
