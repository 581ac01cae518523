// The demo's page layout: one small stylesheet, a nav bar, flash messages.
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const when = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

const css = `
*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#1d2330;color:#fff;padding:.75rem 1.5rem;display:flex;gap:1.25rem;align-items:center;flex-wrap:wrap}
header a{color:#cfd6ff;text-decoration:none}header a:hover{color:#fff}header .brand{font-weight:700;color:#fff;margin-right:1rem}
header .who{margin-left:auto;color:#9aa3b8;font-size:.9rem}header form{display:inline}
main{max-width:46rem;margin:2rem auto;padding:0 1.5rem}h1{margin-top:0}
.card{background:#fff;border:1px solid #e3e6ef;border-radius:10px;padding:1rem 1.25rem;margin:1rem 0}
label{display:block;margin:.5rem 0}input,select{font:inherit;padding:.4rem .6rem;border:1px solid #c7ccda;border-radius:6px;margin-left:.5rem}
button{font:inherit;padding:.4rem .9rem;border:0;border-radius:6px;background:#3454d1;color:#fff;cursor:pointer}
button[disabled]{background:#aab3cf;cursor:default}header button{background:transparent;color:#cfd6ff;padding:0}
.flash{padding:.6rem 1rem;border-radius:8px;margin:.5rem 0}.flash.success{background:#e4f6e8}.flash.error{background:#fde8e8}.flash.info{background:#e8eefc}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.5rem;border-bottom:1px solid #e3e6ef;text-align:left}
tr.current{background:#f0f4ff}.tag{font-size:.75rem;background:#3454d1;color:#fff;border-radius:4px;padding:0 .35rem}
.products{list-style:none;padding:0}.products li{margin:.4rem 0}.products form{display:flex;gap:.75rem;align-items:center}
.big{font-size:1.4rem}.hint{color:#6b7388;font-size:.9rem}pre{background:#fff;border:1px solid #e3e6ef;padding:1rem;border-radius:8px;overflow:auto}
footer{max-width:46rem;margin:2rem auto;padding:0 1.5rem;color:#6b7388;font-size:.85rem}`;

export function layout({ req, title, body, storeName, instance }) {
  const s = req.session ?? {};
  const messages = ['success', 'error', 'info'].flatMap((type) => (req.flash ? req.flash(type) : []).map((m) => `<p class="flash ${type}" role="status">${esc(m)}</p>`));
  if (req.query?.bye) messages.push('<p class="flash info" role="status">You are logged out; your session was destroyed.</p>');
  const who = s.userId
    ? `<span class="who">${esc(s.name)} · <form method="post" action="/logout"><input type="hidden" name="_csrf" value="${req.csrfToken?.() ?? ''}"><button id="logout">Log out</button></form></span>`
    : '<span class="who"><a href="/login">Log in</a></span>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · sess demo</title><style>${css}</style></head><body>
<header><a class="brand" href="/">sess demo</a><a href="/cart">Cart</a><a href="/wizard">Sign-up</a><a href="/account">Account</a><a href="/sessions">Sessions</a><a href="/spa">SPA</a><a href="/debug">Debug</a>${who}</header>
<main><h1>${esc(title)}</h1>${messages.join('')}${body}</main>
<footer>Sessions in <b>${esc(storeName)}</b>${instance ? ` · served by instance <b>${esc(instance)}</b>` : ''} · @sess/core</footer></body></html>`;
}
