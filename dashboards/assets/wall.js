// The wall as a kiosk that runs for days (settings read from #wall-config, set by the server):
// * a soft reload every data-reload-s seconds (0: never) gives the browser a fresh heap;
// * when no wall update succeeded for data-stall-s seconds (server restarted, network cut),
//   the page reloads as soon as the server answers /healthz again, so a wall never stays
//   frozen on an old page. Dash's own interval keeps retrying meanwhile.
// * Dash records every input change made in the browser (each tick of an interval: one a
//   second) in its undo history, which only grows and is copied on each change; with no undo
//   button shown (show_undo_redo off) the last few entries are all it could ever use.
(function () {
  var started = Date.now();
  var lastOk = Date.now();
  var originalFetch = window.fetch;
  window.fetch = function (resource) {
    var url = typeof resource === "string" ? resource : (resource && resource.url) || "";
    var result = originalFetch.apply(this, arguments);
    if (url.indexOf("_dash-update-component") !== -1) {
      result.then(function (response) {
        if (response.ok) { lastOk = Date.now(); }
      }, function () {
        // No answer at all (server down): the tick, off while its request runs, is turned back
        // on only by an answer, so turn it on again here and keep retrying once a second.
        setTimeout(function () {
          var dc = window.dash_clientside;
          if (dc && dc.set_props && document.getElementById("wall-config")) {
            dc.set_props("wall-tick", {disabled: false});
          }
        }, 1000);
      });
    }
    return result;
  };
  function config(name) {
    var el = document.getElementById("wall-config");
    var value = el ? parseFloat(el.getAttribute("data-" + name)) : NaN;
    return isNaN(value) ? null : value;
  }
  var probing = false;
  var HISTORY_KEPT = 20;
  function trimUndoHistory() {
    var store = window.store;
    var state = store && typeof store.getState === "function" ? store.getState() : null;
    var past = state && state.history && state.history.past;
    if (past && past.length > HISTORY_KEPT && !(state.config && state.config.show_undo_redo)) {
      past.splice(0, past.length - HISTORY_KEPT); // the next change copies it into a new array
    }
  }
  setInterval(function () {
    trimUndoHistory();
    var reloadS = config("reload-s");
    var stallS = config("stall-s");
    if (reloadS === null || stallS === null) { return; } // not the wall page
    if (reloadS > 0 && Date.now() - started > reloadS * 1000) {
      window.location.reload();
      return;
    }
    if (stallS > 0 && Date.now() - lastOk > stallS * 1000 && !probing) {
      probing = true;
      originalFetch("/healthz", {cache: "no-store"}).then(function (r) {
        probing = false;
        if (r.status === 200 || r.status === 503) { window.location.reload(); }
      }, function () { probing = false; });
    }
  }, 5000);
})();
