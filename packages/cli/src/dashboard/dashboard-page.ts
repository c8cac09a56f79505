/**
 * The live page of `xcon dashboard`: one self-contained HTML file (plain DOM and inline SVG, no
 * framework, no CDN), fed by `GET /events` (server-sent events, every second).
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xcon dashboard</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px;background:#fafafa;color:#222}
h1{font-size:18px;margin:0 0 4px} #where{color:#666;margin-bottom:8px}
#map{background:#fff;border:1px solid #ddd;border-radius:6px}
.mtas{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px;margin-top:10px}
.mta{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px}
.mta h2{font-size:15px;margin:0}.mta .state{font-weight:bold}.running{color:#2ca02c}.down,.exhausted{color:#d62728}.paused,.unresponsive{color:#f4b400}
#timeNote{color:#666;font-size:12px;margin-bottom:6px}
#gameday{display:none;background:#fff4ce;border:1px solid #f4b400;border-radius:6px;padding:6px 10px;margin-bottom:8px;font-weight:bold}
.bar{display:flex;height:16px;border:1px solid #999;margin:6px 0 2px}.bar div{height:100%}
.free{background:#2ca02c}.inuse{background:#1f77b4}.leaked{background:#d62728}
.estimate{color:#d62728;font-size:12px;min-height:16px}
.queues{font-size:12px;margin:4px 0}.queues td{padding:0 6px 0 0}
button{margin:2px 2px 0 0;font-size:12px}
#tail{background:#111;color:#ddd;font:12px/1.35 ui-monospace,monospace;height:220px;overflow:auto;padding:6px;border-radius:6px;margin-top:10px;white-space:pre}
#tail .e9156{color:#ff6b6b;font-weight:bold}
.filters{margin-top:10px}
</style></head><body>
<h1>xcon: Exchange 5.5 MTAs <small id="clock" title="real time"></small></h1>
<div id="where"></div>
<div id="gameday" role="status" aria-label="game day"></div>
<div id="timeNote"></div>
<svg id="map" width="100%" height="260" viewBox="0 0 1000 260" role="img" aria-label="the site"></svg>
<div class="mtas" id="mtas"></div>
<div class="filters">Events: <label>ID <input id="fEvent" size="16" placeholder="9156,2035"></label>
<label>server <select id="fServer"><option value="">all</option></select></label></div>
<div id="tail" aria-label="event tail"></div>
<script>
const VERBS = ['kill', 'stop', 'start', 'restart', 'pause', 'resume']
const history = {}   // server -> peer -> [depths]
const tail = []
let skeleton = { servers: [], connectors: [] }
const $ = id => document.getElementById(id)
const esc = s => String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])

async function act (server, verb) {
  const r = await fetch('/action', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ server, verb }) })
  const a = await r.json()
  if (!r.ok) alert(a.error)
}

function positions () {
  // Sites side by side, their MTAs on a circle each.
  const sites = [...new Set(skeleton.servers.map(s => s.site))]
  const pos = {}
  sites.forEach((site, i) => {
    const members = skeleton.servers.filter(s => s.site === site)
    const cx = (1000 / sites.length) * (i + 0.5), cy = 135, r = Math.min(95, 30 + 12 * members.length)
    members.forEach((m, j) => {
      const a = (2 * Math.PI * j) / members.length - Math.PI / 2
      pos[m.name] = { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a), site, cx }
    })
  })
  return { sites, pos }
}

function drawMap (mtas) {
  const { sites, pos } = positions()
  const byName = Object.fromEntries(mtas.map(m => [m.name, m]))
  let svg = ''
  sites.forEach((site, i) => { svg += '<text x="' + ((1000 / sites.length) * (i + 0.5)) + '" y="18" text-anchor="middle" font-weight="bold">site ' + esc(site) + '</text>' })
  for (const c of skeleton.connectors) {
    const [a, b] = c.sites, ha = (c.bridgeheads[a] || [])[0], hb = (c.bridgeheads[b] || [])[0]
    if (pos[ha] && pos[hb]) svg += '<line x1="' + pos[ha].x + '" y1="' + pos[ha].y + '" x2="' + pos[hb].x + '" y2="' + pos[hb].y + '" stroke="#9467bd" stroke-width="2" stroke-dasharray="8 4"><title>' + esc(c.name) + ' (' + c.type + ')</title></line>'
  }
  for (const m of mtas) {
    for (const a of (m.associations || [])) {
      if (a.direction !== 'outbound' || !a.peer || !pos[a.peer] || !pos[m.name]) continue
      const colour = a.state === 'bound' ? '#2ca02c' : '#f4b400'
      svg += '<line class="assoc" x1="' + pos[m.name].x + '" y1="' + pos[m.name].y + '" x2="' + pos[a.peer].x + '" y2="' + pos[a.peer].y + '" stroke="' + colour + '" stroke-width="3"><title>' + esc(m.name + ' → ' + a.peer + ': ' + a.state) + '</title></line>'
    }
    for (const q of (m.queues || [])) {
      // A queue whose opens fail: a red dashed line, the association that cannot be made.
      if (q.failedOpens > 0 && pos[q.peer] && pos[m.name]) svg += '<line x1="' + pos[m.name].x + '" y1="' + pos[m.name].y + '" x2="' + pos[q.peer].x + '" y2="' + pos[q.peer].y + '" stroke="#d62728" stroke-width="2" stroke-dasharray="4 3"><title>' + esc(m.name + ' → ' + q.peer + ': failing (' + q.failedOpens + ' failed opens)') + '</title></line>'
    }
  }
  for (const s of skeleton.servers) {
    const m = byName[s.name] || { state: 'down' }, p = pos[s.name]
    const fill = m.state === 'running' ? (m.controlBlocks && m.controlBlocks.free === 0 ? '#d62728' : '#2ca02c') : m.state === 'down' ? '#999' : '#f4b400'
    svg += '<circle cx="' + p.x + '" cy="' + p.y + '" r="20" fill="' + fill + '" stroke="#333"><title>' + esc(s.name + ': ' + m.state) + '</title></circle>'
    const build = m.build || s.build
    svg += '<text x="' + p.x + '" y="' + (p.y + 34) + '" text-anchor="middle" font-size="12">' + esc(s.name) + (build ? ' (' + build + ')' : '') + '</text>'
  }
  $('map').innerHTML = svg
}

function spark (values) {
  if (values.length < 2) return ''
  const max = Math.max(1, ...values), w = 80, h = 16
  const pts = values.map((v, i) => (i * w / (values.length - 1)).toFixed(1) + ',' + (h - (v / max) * h).toFixed(1)).join(' ')
  return '<svg width="' + w + '" height="' + h + '"><polyline points="' + pts + '" fill="none" stroke="#1f77b4"/></svg>'
}

// Each MTA's card is made once, with its buttons; each update rewrites only the card's body, and
// only when it changed. Rewriting the buttons every second could take a click whose press and
// release landed on two different nodes.
function drawMtas (mtas) {
  const box = $('mtas')
  const names = new Set(mtas.map(m => m.name))
  const cards = new Map()
  for (const card of [...box.children]) {
    if (names.has(card.dataset.server)) cards.set(card.dataset.server, card)
    else card.remove()
  }
  for (const m of mtas) {
    let card = cards.get(m.name)
    if (!card) {
      card = document.createElement('div')
      card.className = 'mta'
      card.dataset.server = m.name
      card.innerHTML = '<div class="body"></div><div class="verbs">' + VERBS.map(v => '<button data-verb="' + v + '" data-server="' + esc(m.name) + '">' + v + '</button>').join('') + '</div>'
      box.appendChild(card)
    }
    const html = cardBody(m)
    if (card.drawn !== html) {
      card.querySelector('.body').innerHTML = html
      card.drawn = html
    }
  }
}

function cardBody (m) {
  const cb = m.controlBlocks
  const total = cb ? cb.capacity - 1 : 1
  const bar = cb ? '<div class="bar" title="free ' + cb.free + ', in use ' + cb.inUse + ', leaked ' + cb.leaked + '"><div class="free" style="width:' + (100 * cb.free / total) + '%"></div><div class="inuse" style="width:' + (100 * cb.inUse / total) + '%"></div><div class="leaked" style="width:' + (100 * cb.leaked / total) + '%"></div></div>' : '<div class="bar"></div>'
  const est = !cb ? '' : cb.free === 0 ? 'no free control block: every open is a 9156 (restart the MTA)' : cb.exhaustionSeconds !== null && cb.exhaustionSeconds !== undefined ? 'no free block in about ' + Math.round(cb.exhaustionSeconds / 60) + ' min of MTA time (' + realTime(cb.exhaustionSeconds / (m.timeScale || 1)) + ' here) at this leak rate' : ''
  // As xcon status says it: an MTA that runs with no free control block is not a healthy one.
  const word = m.state === 'running' && cb && cb.free === 0 ? 'running (no CBs)' : m.state
  const cls = m.state === 'running' && cb && cb.free === 0 ? 'exhausted' : m.state
  const queues = (m.queues || []).map(q => {
    const h = ((history[m.name] ||= {})[q.peer] ||= [])
    return '<tr><td>' + esc(q.peer) + '</td><td>' + q.depth + '</td><td>' + spark(h) + '</td><td>' + esc(q.state || '') + '</td></tr>'
  }).join('')
  return '<h2>' + esc(m.name) + ' <small>' + esc(m.site) + (m.build ? ', build ' + m.build : '') + '</small> <span class="state ' + cls + '">' + esc(word) + '</span></h2>' +
    (cb ? '<div>control blocks: <span class="free-count">' + cb.free + '</span> free, ' + cb.inUse + ' in use, <span class="leaked-count">' + cb.leaked + '</span> leaked of ' + cb.capacity + '</div>' : '<div>control blocks: <span class="free-count">-</span></div>') +
    bar + '<div class="estimate">' + est + '</div><table class="queues">' + queues + '</table>'
}

const realTime = s => s < 90 ? Math.round(s) + ' s' : Math.round(s / 60) + ' min'

// MTA time: the MTAs run their Exchange timings faster than the clock by their time scale.
function drawTimeNote (mtas) {
  const scales = [...new Set(mtas.map(m => m.timeScale).filter(Boolean))]
  $('timeNote').textContent = scales.length === 0 ? '' : "MTA time: each MTA runs Exchange's timings " + scales.join(' or ') + ' times faster than real time (its time scale), so its 600 s open retry interval takes ' + scales.map(s => realTime(600 / s)).join(' or ') + ' here. The clock above is real time.'
}

function drawTail () {
  const ids = $('fEvent').value.split(',').map(s => s.trim()).filter(Boolean)
  const server = $('fServer').value
  const shown = tail.filter(e => (server === '' || e.server === server) && (ids.length === 0 || ids.includes(String(e.eventId)) || ids.includes(e.tag)))
  const el = $('tail')
  el.innerHTML = shown.slice(-300).map(e => '<div class="e' + (e.eventId || e.tag) + '">' + esc((e.time || '').slice(11, 23) + '  ' + e.server.padEnd(8) + ' ' + String(e.eventId || e.tag).padStart(6) + '  ' + e.text) + '</div>').join('')
  el.scrollTop = el.scrollHeight
}

document.addEventListener('click', e => {
  const b = e.target.closest('button[data-verb]')
  if (b) act(b.dataset.server, b.dataset.verb)
})
$('fEvent').addEventListener('input', drawTail)
$('fServer').addEventListener('change', drawTail)

fetch('/site').then(r => r.json()).then(s => {
  skeleton = s
  $('where').textContent = s.label
  if (s.gameday) {
    const g = s.gameday
    const pad = n => String(n).padStart(2, '0')
    const tickBanner = () => {
      const now = Date.now(), mta = 8 * 3600000 + Math.max(0, now - g.t0) * g.timeScale
      const clock = 'day ' + (Math.floor(mta / 86400000) + 1) + ' ' + pad(Math.floor(mta % 86400000 / 3600000)) + ':' + pad(Math.floor(mta % 3600000 / 60000))
      const left = Math.max(0, Math.ceil((g.t0 + g.limitMs - now) / 60000))
      $('gameday').textContent = 'GAME DAY: ' + g.symptom + '. MTA time ' + clock + ' (real ' + new Date(now).toISOString().slice(11, 19) + '), ' + (g.ended ? 'ended' : left + ' min left') + '. The buttons here count as your actions.'
    }
    $('gameday').style.display = 'block'
    tickBanner()
    setInterval(tickBanner, 1000)
  }
  $('fServer').innerHTML += s.servers.map(x => '<option>' + esc(x.name) + '</option>').join('')
  const source = new EventSource('/events')
  source.onmessage = msg => {
    const d = JSON.parse(msg.data)
    $('clock').textContent = d.at.slice(11, 19)
    for (const m of d.mtas) for (const q of (m.queues || [])) { const h = ((history[m.name] ||= {})[q.peer] ||= []); h.push(q.depth); if (h.length > 60) h.shift() }
    drawMap(d.mtas)
    drawMtas(d.mtas)
    drawTimeNote(d.mtas)
    tail.push(...d.events)
    // Lines of several logs reach the server a moment apart: the tail is kept in time order.
    tail.sort((a, b) => a.time < b.time ? -1 : a.time > b.time ? 1 : 0)
    if (tail.length > 1000) tail.splice(0, tail.length - 1000)
    if (d.events.length > 0) drawTail()
  }
})
</script>
</body></html>
`
