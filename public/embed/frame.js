// genesys-portal inside Genesys Cloud (a Client App frame).
// - The sign-in: Genesys' sign-in cannot run in a third-party frame, so a top-level popup runs
//   the portal's normal sign-in for this pending frame. The popup posts back a one-time code
//   (never a token), accepted only from that popup and from this site's own origin; the frame
//   trades it, with the pending frame's secret from this page, for its own session cookie.
// - Dates marked `data-local-time` are shown in the host's language (`<html lang>`).
(function () {
  'use strict';

  // After hydration only (the app's own text must match what the server sent), and each
  // element once (the observer sees this script's own changes too).
  function localTimes() {
    if (document.querySelector('script[src*="/pkg/"]') && !document.body.hasAttribute('data-hydrated')) return;
    var lang = document.documentElement.lang || 'en';
    var format;
    try {
      format = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) {
      return;
    }
    document.querySelectorAll('time[data-local-time]').forEach(function (el) {
      var iso = el.getAttribute('datetime');
      if (el.getAttribute('data-formatted') === iso) return;
      var when = new Date(iso);
      if (isNaN(when.getTime())) return;
      el.setAttribute('data-formatted', iso);
      el.textContent = format.format(when);
    });
  }
  localTimes();
  new MutationObserver(localTimes).observe(document.documentElement,
    { childList: true, subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });

  var root = document.getElementById('embed-signin');
  if (!root) return;
  var frameId = root.getAttribute('data-frame-id');
  var secret = root.getAttribute('data-frame-secret');
  var button = document.getElementById('embed-signin-button');
  var status = document.getElementById('embed-status');
  var popup = null;
  var busy = false;

  function say(text, state) {
    status.textContent = text;
    status.setAttribute('data-state', state);
  }

  button.addEventListener('click', function () {
    popup = window.open('/embed/popup?frame=' + encodeURIComponent(frameId), 'genesys-portal-sign-in',
      'popup,width=520,height=720');
    if (!popup) {
      say('Your browser blocked the sign-in window. Allow pop-ups for this site, then select Sign in again.', 'blocked');
      button.focus();
      return;
    }
    say('Finish signing in in the window that opened.', 'waiting');
  });

  window.addEventListener('message', function (event) {
    if (busy || event.origin !== window.location.origin || !popup || event.source !== popup) return;
    var data = event.data;
    if (!data || data.type !== 'genesys-portal:handoff' || typeof data.code !== 'string') return;
    busy = true;
    say('Signing you in…', 'exchanging');
    var body = new URLSearchParams({ code: data.code, frame: frameId, secret: secret });
    fetch('/embed/exchange', { method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (answer) { return { ok: r.ok, answer: answer }; }); })
      .then(function (result) {
        if (result.ok && typeof result.answer.next === 'string' && result.answer.next.charAt(0) === '/') {
          window.location.replace(result.answer.next);
          return;
        }
        say(result.answer.error || 'The sign-in could not be completed. Select Sign in again.', 'failed');
        busy = false;
      })
      .catch(function () {
        say('The portal could not be reached. Select Sign in again.', 'failed');
        busy = false;
      });
  });
})();
