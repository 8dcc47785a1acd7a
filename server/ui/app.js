// Flotilla's dashboard: the filter, relative times, and live updates from
// the operator's server-sent events. No polling: the page asks the server
// for fresh HTML only when an event says it is out of date.
(function () {
  'use strict';
  var body = document.body;
  var page = body.dataset.page;
  var env = body.dataset.env || '';

  // Relative times ("3m ago") age in place; the exact time is their title.
  function rel(t) {
    var d = (Date.now() - t.getTime()) / 1000, future = d < 0;
    d = Math.abs(d);
    if (!future && d < 5) return 'just now';
    var s = d < 60 ? Math.floor(d) + 's' : d < 3600 ? Math.floor(d / 60) + 'm' :
      d < 172800 ? Math.floor(d / 3600) + 'h' : Math.floor(d / 86400) + 'd';
    return future ? 'in ' + s : s + ' ago';
  }
  function ageTimes() {
    document.querySelectorAll('time[data-rel]').forEach(function (el) {
      el.textContent = rel(new Date(el.getAttribute('datetime')));
    });
  }
  setInterval(ageTimes, 10000);

  // The overview's filter: by name (any part of name, stack, cluster,
  // branch) and by status; the URL keeps it, so a filtered view is a link.
  var q = document.getElementById('filter-q');
  var status = document.getElementById('filter-status');
  function applyFilter() {
    if (!q) return;
    var text = q.value.trim().toLowerCase(), want = status.value, shown = 0;
    document.querySelectorAll('#envs tbody tr').forEach(function (tr) {
      var tags = (tr.dataset.tags || '').split(' ');
      var ok = tr.dataset.search.indexOf(text) >= 0 && (want === '' || tags.indexOf(want) >= 0);
      tr.hidden = !ok;
      if (ok) shown++;
    });
    document.getElementById('no-match').hidden = shown > 0;
    var params = new URLSearchParams();
    if (text) params.set('q', q.value.trim());
    if (want) params.set('status', want);
    var s = params.toString();
    history.replaceState(null, '', s ? '?' + s : location.pathname);
  }
  if (q) {
    q.addEventListener('input', applyFilter);
    status.addEventListener('change', applyFilter);
    document.getElementById('filter').addEventListener('submit', function (e) { e.preventDefault(); applyFilter(); });
  }

  if (page !== 'overview' && page !== 'environment') return;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function failing(services) {
    return (services || []).filter(function (s) { return s.phase === 'failed'; });
  }
  function progressText(services) {
    return (services || []).map(function (s) {
      return s.service + ' ' + s.running + '/' + s.desired + ' ' + s.phase;
    }).join(', ');
  }
  function setHealth(container, state) {
    var b = container && container.querySelector('[data-health]');
    if (!b) return;
    b.className = 'badge h-' + state;
    b.textContent = state.charAt(0).toUpperCase() + state.slice(1);
  }

  // Fresh HTML for a part of the page; a late answer never overwrites a
  // newer one.
  var generation = {};
  function refresh(key, url, apply) {
    var g = (generation[key] || 0) + 1;
    generation[key] = g;
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } }).then(function (r) {
      if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
      return r.text();
    }).then(function (html) {
      if (generation[key] === g) { apply(html); ageTimes(); }
    }).catch(function (err) { logLine('bad', 'refreshing the page failed: ' + err.message); });
  }

  // The overview: one row per environment.
  function row(name) { return document.getElementById('env-' + name); }
  function refreshRow(name) {
    refresh('row:' + name, '/fragments/row/' + encodeURIComponent(name), function (html) {
      var old = row(name);
      if (!old) return;
      var t = document.createElement('tbody');
      t.innerHTML = html.trim();
      var fresh = t.firstElementChild;
      fresh.classList.add('flash');
      old.replaceWith(fresh);
      applyFilter();
    });
  }
  function overviewEvent(ev) {
    if (ev.kind === 'resync') {
      document.querySelectorAll('#envs tbody tr').forEach(function (tr) { refreshRow(tr.dataset.env); });
      return;
    }
    var tr = row(ev.env);
    if (!tr) return;
    var pass = tr.querySelector('[data-pass]');
    switch (ev.kind) {
      case 'started':
      case 'progress':
        pass.textContent = '';
        pass.appendChild(el('span', 'badge run', 'syncing · ' + ev.trigger));
        if (ev.services) pass.appendChild(el('div', 'sub progress', progressText(ev.services)));
        if (failing(ev.services).length) setHealth(tr, 'degraded');
        break;
      case 'finished':
      case 'drift':
        if (ev.refresh) { refreshRow(ev.env); break; }
        pass.textContent = '';
        pass.appendChild(el('span', 'muted', 'idle'));
        break;
    }
  }

  // An environment's page: the running pass, the activity log, and the
  // rest refreshed when a pass changed it.
  var activity = document.getElementById('activity');
  var reported = {};
  function logLine(cls, text, time) {
    if (!activity) return;
    var empty = document.getElementById('activity-empty');
    if (empty) empty.remove();
    var li = el('li', cls);
    var t = time ? new Date(time) : new Date();
    li.appendChild(el('time', '', t.toTimeString().slice(0, 8)));
    li.appendChild(document.createTextNode(text));
    activity.insertBefore(li, activity.firstChild);
  }
  function refreshLive() {
    refresh('live', '/fragments/environment/' + encodeURIComponent(env), function (html) {
      document.getElementById('live').innerHTML = html;
    });
  }
  function showRunning(ev) {
    var panel = document.getElementById('running');
    if (!panel) return;
    panel.hidden = false;
    document.getElementById('running-what').textContent = ev.trigger + ', started ' + rel(new Date(ev.time));
    var tbody = document.getElementById('running-services');
    tbody.textContent = '';
    (ev.services || []).forEach(function (s) {
      var tr = el('tr', 'p-' + s.phase);
      tr.appendChild(el('td', '', s.service));
      tr.appendChild(el('td', '', s.running + '/' + s.desired));
      tr.appendChild(el('td', '', s.phase));
      tr.appendChild(el('td', 'reason', s.reason || ''));
      tbody.appendChild(tr);
    });
  }
  function envEvent(ev) {
    switch (ev.kind) {
      case 'resync':
        refreshLive();
        break;
      case 'started':
        reported = {};
        showRunning(ev);
        logLine('', 'pass started (' + ev.trigger + ')', ev.time);
        break;
      case 'progress':
        showRunning(ev);
        var bad = failing(ev.services);
        if (bad.length) setHealth(document.getElementById('env-health'), 'degraded');
        bad.forEach(function (s) {
          if (reported[s.service]) return;
          reported[s.service] = true;
          logLine('bad', 'Degraded: ' + s.service + ' ' + s.running + '/' + s.desired + ' failed: ' + (s.reason || 'no reason given'), ev.time);
        });
        break;
      case 'finished':
        var text = 'pass finished (' + ev.trigger + '): ' + (ev.outcome || 'done') + (ev.commit ? ' at ' + ev.commit : '') +
          (ev.took ? ' in ' + ev.took : '') + (ev.error ? ' — ' + ev.error : '');
        logLine(ev.failed ? 'bad' : (ev.outcome === 'succeeded' ? 'ok' : ''), text, ev.time);
        var panel = document.getElementById('running');
        if (panel) panel.hidden = true;
        if (ev.refresh) refreshLive();
        break;
      case 'drift':
        logLine('bad', 'drift: ' + ev.drift + ' object(s) changed outside Git', ev.time);
        if (ev.refresh) refreshLive();
        break;
    }
  }

  // One event stream; the browser reconnects by itself and sends the last
  // event's number, so a page that missed something is refreshed.
  var state = document.getElementById('live-state');
  var url = '/events?since=' + encodeURIComponent(body.dataset.since) + (env ? '&env=' + encodeURIComponent(env) : '');
  var source = new EventSource(url);
  source.onopen = function () { state.className = 'live-state on'; state.title = 'Live updates: connected'; };
  source.onerror = function () { state.className = 'live-state off'; state.title = 'Live updates: reconnecting'; };
  source.onmessage = function (m) {
    var ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (page === 'overview') overviewEvent(ev); else envEvent(ev);
  };
})();
