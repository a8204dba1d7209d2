// routemesh dashboard: one page, no build step, no library. Follows GET /events (Server-Sent Events):
// `view` (nodes, services, tasks) on every registry change, `stats` (this node's traffic per
// endpoint, heartbeats, registry, propagation) every second. Read-only: it never writes anything.
// Long lists are virtualised (only the rows in sight exist in the DOM), so 1,000 tasks stay readable.
(function () {
  'use strict'

  var KEY = 'routemesh.adminToken'
  var ROW = 24
  var params = new URLSearchParams(location.search)
  var token = params.get('token')
  if (token) {
    // Kept for this tab only, and taken out of the address bar and history.
    sessionStorage.setItem(KEY, token)
    history.replaceState(null, '', location.pathname)
  } else {
    token = sessionStorage.getItem(KEY)
  }

  var view = { rev: 0, nodes: [], services: [], tasks: [] }
  var stats = null
  var filter = ''
  var $ = function (id) { return document.getElementById(id) }

  // ---- formatting -------------------------------------------------------------------------------

  function age (ms) {
    if (ms === null || ms === undefined) return '-'
    if (ms < 1000) return ms + ' ms'
    var s = Math.round(ms / 1000)
    if (s < 90) return s + ' s'
    var m = Math.round(s / 60)
    return m < 90 ? m + ' min' : Math.round(m / 60) + ' h'
  }
  function num (n, digits) { return n === null || n === undefined ? '-' : n.toFixed(digits) }
  function cap (s) { return s ? s.charAt(0).toUpperCase() + s.slice(1) : '' }
  function ms (n) { return n === null || n === undefined ? '-' : n < 10 ? n.toFixed(1) + ' ms' : Math.round(n) + ' ms' }

  // ---- a virtualised list of fixed-height rows --------------------------------------------------

  function VirtualList (el, columns, fill) {
    var maxRows = Number(el.dataset.rows || 10)
    var spacer = document.createElement('div')
    var win = document.createElement('div')
    spacer.className = 'spacer'
    win.className = 'window'
    spacer.appendChild(win)
    el.appendChild(spacer)
    var items = []
    var pending = false
    function draw () {
      pending = false
      el.style.height = (Math.max(1, Math.min(items.length, maxRows)) * ROW + 2) + 'px'
      spacer.style.height = (items.length * ROW) + 'px'
      var first = Math.max(0, Math.floor(el.scrollTop / ROW) - 4)
      var count = Math.min(items.length - first, maxRows + 8)
      win.style.transform = 'translateY(' + (first * ROW) + 'px)'
      while (win.children.length > count) win.removeChild(win.lastChild)
      for (var i = 0; i < count; i++) {
        var row = win.children[i]
        if (!row) {
          row = document.createElement('div')
          for (var c = 0; c < columns; c++) row.appendChild(document.createElement('span'))
          win.appendChild(row)
        }
        fill(row, items[first + i])
      }
      el.classList.toggle('empty', items.length === 0)
    }
    el.addEventListener('scroll', function () {
      if (!pending) { pending = true; requestAnimationFrame(draw) }
    })
    return { set: function (list) { items = list; draw() }, draw: draw }
  }

  function cell (row, i, text, cls) {
    var span = row.children[i]
    if (span.textContent !== text) { span.textContent = text; span.title = text }
    var want = cls || ''
    if (span.className !== want) span.className = want
  }

  // ---- nodes ------------------------------------------------------------------------------------

  var nodes = VirtualList($('nodes'), 8, function (row, n) {
    var live = stats && stats.nodes ? stats.nodes[n.id] : null
    row.className = 'grid nodes row' + (n.self ? ' self' : '')
    row.dataset.node = n.name
    cell(row, 0, n.name + (n.self ? ' *' : ''))
    cell(row, 1, n.addr)
    cell(row, 2, n.status === 'ready' ? 'Ready' : 'Down', n.status === 'ready' ? 'ok' : 'bad')
    cell(row, 3, cap(n.availability), n.availability === 'active' ? '' : 'warn')
    cell(row, 4, n.role)
    cell(row, 5, n.managerStatus, n.managerStatus === 'Unreachable' ? 'bad' : n.managerStatus === 'Leader' ? 'strong' : '')
    cell(row, 6, live ? age(live.heartbeatAgeMs) : '-')
    cell(row, 7, live && live.servedRev !== null ? String(live.servedRev) : '-', live && live.servedRev !== null && live.servedRev < view.rev ? 'warn' : '')
  })

  // ---- services ---------------------------------------------------------------------------------

  var services = VirtualList($('services'), 8, function (row, s) {
    row.className = 'grid services row'
    row.dataset.service = s.name
    cell(row, 0, s.name, 'strong')
    cell(row, 1, s.mode)
    cell(row, 2, s.running + '/' + s.desired, s.running < s.desired ? 'warn' : 'ok')
    cell(row, 3, s.ports.join(', '))
    cell(row, 4, s.hosts.join(', ') + (s.cert ? (s.hosts.length > 0 ? ' · ' : '') + 'cert ' + s.cert : ''))
    cell(row, 5, s.check)
    var updated = 0
    for (var i = 0; i < s.slots.length; i++) if (s.slots[i].state === 'updated') updated++
    var busy = s.updateState === 'updating' || s.updateState === 'rollback_started' || s.updateState === 'paused' || s.updateState === 'rollback_paused'
    cell(row, 6, busy ? s.updateState.replace('_', ' ') + ' ' + updated + '/' + s.slots.length : (s.updateState || '').replace('_', ' '),
      s.updateState.indexOf('paused') >= 0 ? 'bad' : busy ? 'warn' : '')
    slots(row.children[7], s.slots)
  })

  /** One box per slot: green = the service's version runs there, amber = on its way, grey = an older one. */
  function slots (span, list) {
    span.className = 'slots'
    var shown = Math.min(list.length, 60)
    while (span.children.length > shown) span.removeChild(span.lastChild)
    for (var i = 0; i < shown; i++) {
      var box = span.children[i]
      if (!box) { box = document.createElement('i'); span.appendChild(box) }
      var cls = 'slot ' + list[i].state
      if (box.className !== cls) box.className = cls
      box.title = 'slot ' + list[i].slot + ': ' + list[i].state
    }
    span.dataset.more = list.length > shown ? '+' + (list.length - shown) : ''
  }

  // ---- tasks ------------------------------------------------------------------------------------

  /** This node's traffic per task (a task serving several published ports: added up). */
  function trafficByTask () {
    var out = {}
    if (!stats || !stats.endpoints) return out
    for (var i = 0; i < stats.endpoints.length; i++) {
      var e = stats.endpoints[i]
      var t = out[e.task] || (out[e.task] = { rps: 0, errors: 0, answered: 0, p99Ms: null, ejected: false })
      t.rps += e.rps
      if (e.errorRate !== null) { t.errors += e.errorRate * e.rps; t.answered += e.rps }
      if (e.p99Ms !== null) t.p99Ms = Math.max(t.p99Ms || 0, e.p99Ms)
      t.ejected = t.ejected || e.ejected
    }
    return out
  }
  var traffic = {}

  var tasks = VirtualList($('tasks'), 10, function (row, t) {
    var tr = traffic[t.id]
    var health = tr && tr.ejected && t.health === 'healthy' ? 'ejected' : t.health
    row.className = 'grid tasks row' + (t.desired === 'running' ? '' : ' history')
    row.dataset.task = t.id
    row.dataset.service = t.service
    cell(row, 0, (t.desired === 'running' ? '' : '\u2514 ') + t.name, t.current ? '' : 'old')
    cell(row, 1, t.node)
    cell(row, 2, cap(t.desired))
    cell(row, 3, cap(t.state) + ' ' + age(Date.now() - t.stateAt), t.state === 'running' ? '' : t.state === 'failed' || t.state === 'rejected' || t.state === 'orphaned' ? 'bad' : 'dim')
    cell(row, 4, health || '-', 'health ' + (health === 'healthy' ? 'ok' : health === 'unhealthy' || health === 'unreachable' ? 'bad' : health ? 'warn' : 'dim'))
    cell(row, 5, t.address)
    cell(row, 6, tr ? num(tr.rps, 1) : '-')
    cell(row, 7, tr && tr.answered > 0 ? num(100 * tr.errors / tr.answered, 1) + ' %' : '-', tr && tr.answered > 0 && tr.errors > 0 ? 'bad' : '')
    cell(row, 8, tr ? ms(tr.p99Ms) : '-')
    cell(row, 9, t.error, 'bad')
  })

  // ---- filtering and drawing --------------------------------------------------------------------

  function has (text) { return String(text).toLowerCase().indexOf(filter) >= 0 }

  function drawLists () {
    // Nodes are filtered only when the filter names some: typing a service keeps the nodes in sight.
    var ns = filter ? view.nodes.filter(function (n) { return has(n.name) || has(n.addr) || has(n.status) || has(n.managerStatus) }) : view.nodes
    if (ns.length === 0) ns = view.nodes
    var ss = filter ? view.services.filter(function (s) { return has(s.name) || has(s.ports.join(' ')) || has(s.hosts.join(' ')) || has(s.updateState) }) : view.services
    var ts = filter ? view.tasks.filter(function (t) { return has(t.name) || has(t.node) || has(t.state) || has(t.health) || has(t.address) || has(t.error) }) : view.tasks
    nodes.set(ns)
    services.set(ss)
    tasks.set(ts)
    var running = 0
    for (var i = 0; i < view.tasks.length; i++) if (view.tasks[i].state === 'running' && view.tasks[i].desired === 'running') running++
    $('nodes-count').textContent = count(ns.length, view.nodes.length, '')
    $('services-count').textContent = count(ss.length, view.services.length, '')
    $('tasks-count').textContent = count(ts.length, view.tasks.length, ', ' + running + ' running')
  }

  function count (shown, all, extra) {
    return (shown === all ? String(all) : shown + ' of ' + all) + extra
  }

  function pill (id, text, cls) {
    var el = $(id)
    el.textContent = text
    el.className = 'pill' + (cls ? ' ' + cls : '')
  }

  function drawHeader () {
    if (!stats) return
    pill('node', 'node ' + stats.node)
    var lag = stats.syncAgeMs !== null && stats.syncAgeMs > 3000 ? ' (last heard ' + age(stats.syncAgeMs) + ' ago)' : ''
    pill('registry', stats.registryUp ? 'registry up' : 'registry down' + lag, stats.registryUp ? 'ok' : 'bad')
    pill('revision', 'serving rev ' + stats.servedRev + (view.rev > stats.servedRev ? ' of ' + view.rev : ''), view.rev > stats.servedRev ? 'warn' : '')
    var p = stats.propagation
    pill('propagation', 'propagation ' + ms(p.lastMs) + ' (p99 ' + ms(p.p99Ms) + ')')
    var leader = null
    for (var i = 0; i < view.nodes.length; i++) if (view.nodes[i].id === stats.leaderId) leader = view.nodes[i].name
    pill('leader', leader ? 'leader ' + leader : 'no leader', leader ? '' : 'bad')
    var ejected = stats.endpoints ? stats.endpoints.filter(function (e) { return e.ejected }) : []
    $('ejections-count').textContent = stats.ejections === null ? '' : stats.ejections + ' since start, ' + ejected.length + ' now'
    var box = $('ejected')
    box.textContent = stats.endpoints === null ? 'Not tracked here: this node\'s listeners run in worker processes (see /metrics).' : ejected.length === 0 ? 'None.' : ''
    for (var j = 0; j < ejected.length; j++) {
      var line = document.createElement('div')
      line.className = 'bad'
      line.textContent = ejected[j].service + ' :' + ejected[j].port + '  ' + ejected[j].address
      box.appendChild(line)
    }
  }

  $('filter').addEventListener('input', function (e) {
    filter = e.target.value.trim().toLowerCase()
    drawLists()
  })

  // ---- the event stream -------------------------------------------------------------------------

  function connect () {
    if (!token) {
      pill('conn', 'no admin token: open this page as /?token=...', 'bad')
      return
    }
    var es = new EventSource('/events?token=' + encodeURIComponent(token))
    es.addEventListener('open', function () { pill('conn', 'live', 'ok') })
    es.addEventListener('view', function (e) {
      view = JSON.parse(e.data)
      drawLists()
      drawHeader()
    })
    es.addEventListener('stats', function (e) {
      stats = JSON.parse(e.data)
      traffic = trafficByTask()
      drawHeader()
      nodes.draw()
      tasks.draw()
    })
    es.addEventListener('error', function () {
      if (es.readyState === EventSource.CLOSED) {
        // Refused (a wrong token) or gone for good: try again now and then; a reload brings the token prompt.
        pill('conn', 'disconnected: retrying', 'bad')
        setTimeout(connect, 5000)
      } else {
        pill('conn', 'reconnecting', 'warn')
      }
    })
  }
  connect()
})()
