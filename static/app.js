// Small behaviours the CSP allows (no inline scripts): nothing here is required for the pages to work.
document.addEventListener("htmx:responseError", function (event) {
  // Show a server error fragment even though htmx does not swap 4xx/5xx by default.
  var xhr = event.detail.xhr;
  var target = event.detail.target;
  if (xhr && xhr.responseText && target && xhr.getResponseHeader("Content-Type") &&
      xhr.getResponseHeader("Content-Type").indexOf("text/html") === 0) {
    var box = document.createElement("div");
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    box.textContent = "Error " + xhr.status + ": the action could not be completed. Reload the page and try again.";
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
      navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
    });
  });
});
