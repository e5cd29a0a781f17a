// Komrade's local interface: live updates through server-sent events and
// forms sent without a reload. Every page works without this file; it
// loads from the interface's own origin (the CSP allows nothing else) and
// never builds HTML from strings: it takes parts of pages the server
// rendered (html/template escaped them) and text for counts.
(function () {
  'use strict';
  var body = document.body;

  // replacePart fetches url (a page of ours) and puts its element #id in
  // place of ours.
  function replacePart(url, id) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById(id), old = document.getElementById(id);
      if (fresh && old) {
        old.replaceWith(document.importNode(fresh, true));
      }
    });
  }

  var chat = body.dataset.chat;
  var chatURL = chat !== undefined ? '/chat/' + encodeURIComponent(chat) : null;
  // reloadChat fetches the conversation again and merges it with the
  // list shown: a message already on the page stays there even when the
  // new list lacks it. With keep_read = "0s" a received message is taken
  // out of the inbox by the one fetch that shows it, and two fetches (a
  // "chat" and an "outbox" event) may answer in either order.
  function reloadChat() {
    return fetch(chatURL + '/messages', { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById('messages'), old = document.getElementById('messages');
      if (!fresh || !old) { return; }
      var list = document.importNode(fresh, true);
      Array.prototype.slice.call(old.children).forEach(function (li) {
        if (!li.id || list.querySelector('#' + CSS.escape(li.id))) { return; }
        var at = Number(li.dataset.at), before = null;
        Array.prototype.some.call(list.children, function (c) {
          if (c.dataset.at !== undefined && Number(c.dataset.at) > at) { before = c; return true; }
          return false;
        });
        list.insertBefore(li, before);
      });
      if (list.querySelector('li[id]')) {
        list.querySelectorAll('li.empty').forEach(function (li) { li.remove(); });
      }
      old.replaceWith(list);
      window.scrollTo(0, document.body.scrollHeight);
    });
  }

  if (window.EventSource) {
    var es = new EventSource('/events');
    if (chatURL) {
      es.addEventListener('chat', reloadChat);
      es.addEventListener('outbox', reloadChat);
    }
    if (body.dataset.feed) {
      // New posts are announced, not put in place: the list never moves
      // under the user's finger.
      es.addEventListener('feed', function () {
        var news = document.getElementById('feed-news');
        if (news) { news.hidden = false; }
      });
    }
    // What was read between the page's rendering and the stream's
    // opening (or while it was down) came with no event: the live parts
    // are fetched again whenever the stream opens.
    if (body.dataset.alerts) {
      es.addEventListener('alert', refreshAlerts);
      es.addEventListener('open', refreshAlerts);
    }
    if (body.dataset.map) {
      // The map and its list are redrawn in place: pins and alerts read
      // by the watch appear without a reload.
      var reloadMap = function () { replacePart(location.pathname + location.search, 'map-live'); };
      es.addEventListener('pins', reloadMap);
      es.addEventListener('alert', reloadMap);
      es.addEventListener('open', reloadMap);
    }
    window.addEventListener('pagehide', function () { es.close(); });
  }

  // refreshAlerts puts the live alerts the server rendered in the bar at
  // the top of the page: new ones are inserted (each has role="alert", so
  // it is announced), those over are removed, the others stay as they are
  // (not announced again).
  function refreshAlerts() {
    return fetch('/alerts/live', { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById('alerts'), bar = document.getElementById('alerts');
      if (!fresh || !bar) { return; }
      var keep = {};
      Array.prototype.forEach.call(fresh.children, function (el) { keep[el.id] = true; });
      Array.prototype.slice.call(bar.children).forEach(function (el) {
        if (!keep[el.id]) { el.remove(); }
      });
      Array.prototype.slice.call(fresh.children).reverse().forEach(function (el) {
        if (!document.getElementById(el.id)) { bar.prepend(document.importNode(el, true)); }
      });
    });
  }

  // Sending a message without leaving the page.
  // The server answers the script with 204 (no redirect to the chat
  // page, whose rendering would take unread messages the script never
  // shows). The form is never sent a second time: when the answer is an
  // error or none came, the page says so and keeps the text.
  var send = document.getElementById('send');
  var sendError = document.getElementById('send-error');
  if (send && chatURL) {
    send.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var data = new URLSearchParams(new FormData(send));
      var button = send.querySelector('button');
      button.disabled = true;
      sendError.hidden = true;
      var fail = function (text) {
        sendError.textContent = text;
        sendError.hidden = false;
      };
      fetch(send.action, { method: 'POST', body: data, credentials: 'same-origin',
        headers: { 'Accept': 'application/json' } }).then(function (r) {
        if (r.ok) {
          send.reset();
          reloadChat();
          return;
        }
        return r.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var msg = doc.querySelector('.error');
          fail('Not sent: ' + (msg ? msg.textContent : 'error ' + r.status));
        });
      }, function () {
        fail('No answer from the interface: the message may or may not have been queued. ' +
          'Reload the page to see it before sending again.');
      }).finally(function () { button.disabled = false; });
    });
  }

  // Votes without leaving the page: the server answers with the tally.
  function bindVotes() {
    document.querySelectorAll('form.vote').forEach(function (f) {
      if (f.dataset.bound) { return; }
      f.dataset.bound = '1';
      f.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var data = new URLSearchParams(new FormData(f));
        if (ev.submitter) { data.set(ev.submitter.name, ev.submitter.value); }
        f.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
        fetch(f.action, { method: 'POST', body: data, credentials: 'same-origin',
          headers: { 'Accept': 'application/json' } }).then(function (r) {
          if (!r.ok) { throw new Error(r.status); }
          return r.json();
        }).then(function (t) {
          f.querySelector('.up').textContent = String(t.up);
          f.querySelector('.down').textContent = String(t.down);
          f.querySelectorAll('button').forEach(function (b) {
            b.setAttribute('aria-pressed', String(b.value === t.mine));
          });
        }).catch(function () {
          // Sent as a plain form instead: the server's page says why.
          var dir = document.createElement('input');
          dir.type = 'hidden';
          dir.name = 'dir';
          dir.value = data.get('dir');
          f.appendChild(dir);
          f.submit();
        }).finally(function () {
          f.querySelectorAll('button').forEach(function (b) { b.disabled = false; });
        });
      });
    });
  }
  bindVotes();

  // A preview of the picture about to be posted (a blob: URL: it never
  // leaves the browser until the form is sent).
  var file = document.getElementById('post-image'), preview = document.getElementById('preview');
  if (file && preview && window.URL) {
    file.addEventListener('change', function () {
      if (preview.src) { URL.revokeObjectURL(preview.src); }
      if (file.files && file.files[0]) {
        preview.src = URL.createObjectURL(file.files[0]);
        preview.hidden = false;
      } else {
        preview.hidden = true;
      }
    });
  }
})();
