// When the server no longer knows this browser's session (expired, password changed, user
// removed), Dash's requests get 401: go to the sign-in page instead of showing stale figures.
(function () {
  var originalFetch = window.fetch;
  var leaving = false;
  window.fetch = function () {
    return originalFetch.apply(this, arguments).then(function (response) {
      if (response.status === 401 && !leaving) {
        leaving = true;
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
