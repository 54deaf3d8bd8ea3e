/** `/_flowd/docs`: a small page that renders the OpenAPI document (no external assets). */
export const API_DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flowd API</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#111827;padding:0 1rem}
h1{margin-bottom:0}h2{margin-top:2rem;text-transform:capitalize;border-bottom:1px solid #e5e7eb}
.op{display:flex;gap:.75rem;padding:.35rem 0;border-bottom:1px solid #f3f4f6}
.m{font:600 12px monospace;width:4.5rem;text-align:center;border-radius:4px;padding:.15rem 0;color:#fff;flex:none}
.GET{background:#2563eb}.POST{background:#16a34a}.PUT{background:#d97706}.DELETE{background:#dc2626}
code{font-size:13px}.d{color:#6b7280}
</style></head><body>
<h1>flowd API</h1><p class="d">Generated from the route schemas: <a href="/_flowd/openapi.json">/_flowd/openapi.json</a> (OpenAPI 3).</p>
<div id="api">loading…</div>
<script>
fetch('/_flowd/openapi.json').then(function (r) { return r.json(); }).then(function (doc) {
  var groups = {};
  Object.keys(doc.paths).forEach(function (p) {
    Object.keys(doc.paths[p]).forEach(function (m) {
      var op = doc.paths[p][m]; var tag = (op.tags && op.tags[0]) || 'other';
      (groups[tag] = groups[tag] || []).push({ m: m.toUpperCase(), p: p, s: op.summary || '', d: op.description || '' });
    });
  });
  var root = document.getElementById('api'); root.textContent = '';
  Object.keys(groups).sort().forEach(function (tag) {
    var h = document.createElement('h2'); h.textContent = tag; root.appendChild(h);
    groups[tag].forEach(function (o) {
      var row = document.createElement('div'); row.className = 'op';
      var m = document.createElement('span'); m.className = 'm ' + o.m; m.textContent = o.m;
      var t = document.createElement('div');
      var c = document.createElement('code'); c.textContent = o.p; t.appendChild(c);
      var s = document.createElement('div'); s.textContent = o.s; t.appendChild(s);
      if (o.d) { var d = document.createElement('div'); d.className = 'd'; d.textContent = o.d; t.appendChild(d); }
      row.appendChild(m); row.appendChild(t); root.appendChild(row);
    });
  });
});
</script></body></html>`;
