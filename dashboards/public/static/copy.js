// /public/: the "copy" button next to each embed code (served from this site: CSP script-src 'self').
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("button.p-copy") : null;
  if (!button) { return; }
  var area = document.getElementById(button.getAttribute("data-target"));
  if (!area) { return; }
  var done = function () { button.textContent = button.getAttribute("data-done"); };
  area.focus();
  area.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(area.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
