// The token prompt (answered 401). A tab that already holds the token (sessionStorage, set by the
// dashboard) goes straight back to it; one that came with a refused token is told so, and forgets it.
(function () {
  'use strict'
  var KEY = 'routemesh.adminToken'
  var hasToken = new URLSearchParams(location.search).has('token')
  if (hasToken) {
    sessionStorage.removeItem(KEY)
    history.replaceState(null, '', location.pathname)
    document.getElementById('why').textContent = 'That token was refused. Enter the node\'s admin token (node.adminToken).'
    return
  }
  var kept = sessionStorage.getItem(KEY)
  if (kept) location.replace('/?token=' + encodeURIComponent(kept))
})()
