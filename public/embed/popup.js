// The sign-in popup of a framed genesys-portal: on to Genesys Cloud at once, and at the end
// the one-time code posted to the frame that opened this window (this site's own origin only).
(function () {
  'use strict';
  var form = document.getElementById('embed-popup-form');
  if (form) {
    form.submit();
    return;
  }
  var handoff = document.getElementById('embed-handoff');
  if (!handoff) return;
  var status = document.getElementById('embed-status');
  if (!window.opener) {
    status.textContent = 'This window lost its link to Genesys Cloud. Close it and select Sign in again there.';
    status.setAttribute('data-state', 'orphaned');
    return;
  }
  window.opener.postMessage({ type: 'genesys-portal:handoff', code: handoff.getAttribute('data-code') },
    window.location.origin);
  status.textContent = 'Signed in. You can close this window.';
  status.setAttribute('data-state', 'sent');
  window.setTimeout(function () { window.close(); }, 250);
})();
