// The demo app: every pattern of the sessions guide on @sess/core. createApp() builds it on any store.
import express from 'express';
import session, { csrf, flash, idTag } from '@sess/core';
import { layout, esc, when } from './views.mjs';
import { telemetry } from './telemetry.mjs';

const USERS = {
  alice: { id: 'u1', name: 'Alice', password: 'wonderland', role: 'admin' },
  bob: { id: 'u2', name: 'Bob', password: 'builder', role: 'user' },
};

const PRODUCTS = [
  { id: 'tea', name: 'Green tea', price: 4.5 },
  { id: 'mug', name: 'Enamel mug', price: 12 },
  { id: 'book', name: 'Field guide', price: 24 },
];

const WIZARD = [
  { field: 'name', label: 'Your name', type: 'text' },
  { field: 'email', label: 'Email', type: 'email' },
  { field: 'plan', label: 'Plan', type: 'select', options: ['Starter', 'Team', 'Enterprise'] },
];

/** A short "browser on OS" label for the sessions page. */
function device(ua = '') {
  const browser = /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Firefox\//.test(ua) ? 'Firefox' : /Safari\//.test(ua) ? 'Safari' : /curl|node|undici/i.test(ua) ? 'script' : 'browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : 'unknown OS';
  return `${browser} on ${os}`;
}

const when_ = (ms) => (ms ? when(ms) : '—');

/**
 * @param {{ store: import('@sess/core').SessionStore | object, secret: string | string[], storeName?: string,
 *   crossSite?: { origin: string }, instance?: string }} options
 */
export function createApp({ store, secret, storeName = 'file', crossSite, instance }) {
  const app = express();
  app.disable('x-powered-by');
  if (crossSite) app.set('trust proxy', 1); // secure cookies behind a TLS-terminating proxy

  const sessions = session({
    name: 'sid',
    secret,
    resave: false,
    saveUninitialized: false,
    store,
    userKey: (s) => s.userId ?? null,
    // Save before the first byte of the response: a browser follows a redirect as soon as it has the
    // headers, and must find the session it was just given (express-session's split write races here).
    saveBeforeSend: true,
    // The guide's cookie; a cross-site front end needs sameSite 'none', which browsers accept only with secure.
    cookie: crossSite ? { httpOnly: true, secure: true, sameSite: 'none', maxAge: 60 * 60 * 1000 } : { httpOnly: true, sameSite: 'lax', maxAge: 60 * 60 * 1000 },
  });

  if (crossSite) {
    // CORS for the JSON API: one allowed origin, with credentials (cookies) allowed.
    app.use('/api', (req, res, next) => {
      if (req.headers.origin === crossSite.origin) {
        res.set({ 'Access-Control-Allow-Origin': crossSite.origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' });
        if (req.method === 'OPTIONS') {
          res.set({ 'Access-Control-Allow-Methods': 'GET,POST', 'Access-Control-Allow-Headers': 'content-type,x-csrf-token' });
          return res.sendStatus(204);
        }
      }
      next();
    });
  }

  // sess's metrics for Prometheus (sessions created/loaded/missed/destroyed, store latency and errors, lock
  // wait): before the session middleware, so a scrape never makes a session.
  const tel = telemetry();
  app.get('/metrics', (req, res) => tel.metrics(req, res));

  app.use(express.urlencoded({ extended: false }));
  app.use(express.json());
  app.use(sessions);
  app.use((req, res, next) => {
    if (instance) res.set('x-demo-instance', instance);
    res.locals.page = (title, body, status = 200) => res.status(status).send(layout({ req, title, body, storeName, instance }));
    next();
  });
  app.use(flash());
  app.use(csrf());

  const requireUser = (req, res, next) => {
    if (req.session.userId) return next();
    req.flash('error', 'Please log in first.');
    res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
  };
  const requireRole = (role) => (req, res, next) => {
    if (req.session.role === role) return next();
    res.locals.page('Forbidden', `<p>This page is for the <b>${esc(role)}</b> role; you are signed in as <b>${esc(req.session.role)}</b>.</p>`, 403);
  };
  const csrfField = (req) => `<input type="hidden" name="_csrf" value="${req.csrfToken()}">`;

  // 1. The guide's visit counter.
  app.get('/', (req, res) => {
    req.session.count = (req.session.count || 0) + 1;
    const u = req.session.userId ? `<p>Signed in as <b>${esc(req.session.name)}</b> (${esc(req.session.role)}).</p>` : '<p>You are not signed in. <a href="/login">Log in</a> as alice / wonderland (admin) or bob / builder.</p>';
    res.locals.page('Home', `<p class="big">Visits: <b id="visits">${req.session.count}</b></p>${u}
<p>Every page of this demo keeps its state in the session: the counter, the <a href="/cart">cart</a>, the
<a href="/wizard">sign-up wizard</a>, flash messages and the CSRF secret. The cookie holds only the signed id.</p>`);
  });

  // 2. Authentication: regenerate on login (fixation protection), destroy on logout.
  app.get('/login', (req, res) => {
    res.locals.page('Log in', `<form method="post" action="/login" class="card">${csrfField(req)}
<input type="hidden" name="next" value="${esc(req.query.next ?? '/account')}">
<label>User <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Log in</button></form><p class="hint">alice / wonderland (admin) · bob / builder (user)</p>`);
  });

  app.post('/login', async (req, res, next) => {
    try {
      const user = USERS[String(req.body.username ?? '').toLowerCase()];
      if (!user || user.password !== req.body.password) {
        req.flash('error', 'Wrong user name or password.');
        return res.redirect('/login');
      }
      const cart = req.session.cart; // what the visitor collected before logging in is kept
      await req.session.regenerate(); // new id: a planted session id is worthless after login
      Object.assign(req.session, { userId: user.id, name: user.name, role: user.role, device: device(req.headers['user-agent']), loginAt: Date.now() });
      if (cart) req.session.cart = cart;
      req.flash('success', `Welcome, ${user.name}!`);
      const nextUrl = String(req.body.next ?? '/account');
      res.redirect(nextUrl.startsWith('/') && !nextUrl.startsWith('//') ? nextUrl : '/account');
    } catch (err) {
      next(err);
    }
  });

  app.post('/logout', async (req, res, next) => {
    try {
      await req.session.destroy();
      res.clearCookie('sid', { path: '/', httpOnly: true, sameSite: crossSite ? 'none' : 'lax', secure: Boolean(crossSite) });
      res.redirect('/?bye=1');
    } catch (err) {
      next(err);
    }
  });

  app.get('/account', requireUser, (req, res) => {
    res.locals.page('Account', `<div class="card"><p>Name: <b>${esc(req.session.name)}</b></p><p>Role: <b>${esc(req.session.role)}</b></p>
<p>Signed in: ${when(req.session.loginAt)} on ${esc(req.session.device)}</p></div>
<p><a href="/sessions">Your active sessions</a>${req.session.role === 'admin' ? ' · <a href="/admin">Admin area</a>' : ''}</p>`);
  });

  app.get('/admin', requireUser, requireRole('admin'), (req, res) => {
    res.locals.page('Admin', '<p>Only admins see this page. The role was stored in the session at login and is checked on every request.</p>');
  });

  // Active sessions of this user, with "log out everywhere else".
  app.get('/sessions', requireUser, async (req, res, next) => {
    try {
      const list = await sessions.listUserSessions(req.session.userId, req);
      const rows = list
        .sort((a, b) => (b.lastSeenAt ?? 0) - (a.lastSeenAt ?? 0))
        .map((s) => `<tr class="${s.current ? 'current' : ''}"><td>${esc(s.data.device ?? 'unknown')}${s.current ? ' <span class="tag">this browser</span>' : ''}</td><td>${when_(s.createdAt ?? s.data.loginAt)}</td><td>${when_(s.lastSeenAt)}</td><td><code>${esc(s.tag)}</code></td></tr>`)
        .join('');
      res.locals.page('Active sessions', `<table id="sessions"><thead><tr><th>Device</th><th>Created</th><th>Last seen</th><th>Tag</th></tr></thead><tbody>${rows}</tbody></table>
<form method="post" action="/sessions/logout-others">${csrfField(req)}<button ${list.length < 2 ? 'disabled' : ''}>Log out everywhere else</button></form>`);
    } catch (err) {
      next(err);
    }
  });

  app.post('/sessions/logout-others', requireUser, async (req, res, next) => {
    try {
      const n = await sessions.destroyUserSessions(req.session.userId, { except: req });
      req.flash('success', `Logged out ${n} other session${n === 1 ? '' : 's'}.`);
      res.redirect('/sessions');
    } catch (err) {
      next(err);
    }
  });

  // 3. Shopping cart in the session.
  const cartOf = (req) => req.session.cart ?? {};
  const cartView = (cart) => {
    const lines = Object.entries(cart).map(([id, qty]) => ({ ...PRODUCTS.find((p) => p.id === id), qty }));
    return { lines, total: lines.reduce((t, l) => t + l.qty * l.price, 0) };
  };
  app.get('/cart', (req, res) => {
    const { lines, total } = cartView(cartOf(req));
    const products = PRODUCTS.map((p) => `<li><form method="post" action="/cart/add">${csrfField(req)}<input type="hidden" name="id" value="${p.id}">${esc(p.name)} — €${p.price.toFixed(2)} <button data-add="${p.id}">Add</button></form></li>`).join('');
    const items = lines.length
      ? `<table id="cart"><tbody>${lines.map((l) => `<tr><td>${esc(l.name)}</td><td>× ${l.qty}</td><td>€${(l.qty * l.price).toFixed(2)}</td><td><form method="post" action="/cart/remove">${csrfField(req)}<input type="hidden" name="id" value="${l.id}"><button>Remove</button></form></td></tr>`).join('')}</tbody></table><p>Total: <b id="total">€${total.toFixed(2)}</b></p>`
      : '<p id="cart-empty">Your cart is empty.</p>';
    res.locals.page('Cart', `<h2>Products</h2><ul class="products">${products}</ul><h2>In your cart</h2>${items}`);
  });
  app.post('/cart/add', (req, res) => {
    const p = PRODUCTS.find((x) => x.id === req.body.id);
    if (p) {
      req.session.cart = { ...cartOf(req), [p.id]: (cartOf(req)[p.id] ?? 0) + 1 };
      req.flash('success', `${p.name} added to your cart.`);
    }
    res.redirect('/cart');
  });
  app.post('/cart/remove', (req, res) => {
    const cart = { ...cartOf(req) };
    delete cart[req.body.id];
    req.session.cart = cart;
    res.redirect('/cart');
  });

  // 4. A multi-step form whose answers survive reloads (and other tabs, and other servers).
  app.get('/wizard', (req, res) => {
    const w = req.session.wizard ?? { step: 0, answers: {} };
    if (w.step >= WIZARD.length) {
      return res.locals.page('Sign-up', `<div class="card" id="summary"><p>Name: <b>${esc(w.answers.name)}</b></p><p>Email: <b>${esc(w.answers.email)}</b></p><p>Plan: <b>${esc(w.answers.plan)}</b></p></div>
<form method="post" action="/wizard/restart">${csrfField(req)}<button>Start again</button></form>`);
    }
    const s = WIZARD[w.step];
    const value = esc(w.answers[s.field] ?? '');
    const input = s.type === 'select'
      ? `<select name="value">${s.options.map((o) => `<option${o === w.answers[s.field] ? ' selected' : ''}>${o}</option>`).join('')}</select>`
      : `<input name="value" type="${s.type}" value="${value}" required>`;
    res.locals.page('Sign-up', `<p class="steps">Step <b id="step">${w.step + 1}</b> of ${WIZARD.length}</p>
<form method="post" action="/wizard" class="card">${csrfField(req)}<label>${esc(s.label)} ${input}</label>
<div>${w.step > 0 ? '<button name="back" value="1" formnovalidate>Back</button> ' : ''}<button>${w.step === WIZARD.length - 1 ? 'Finish' : 'Next'}</button></div></form>`);
  });
  app.post('/wizard', (req, res) => {
    const w = req.session.wizard ?? { step: 0, answers: {} };
    if (req.body.back) {
      w.step = Math.max(0, w.step - 1);
    } else if (w.step < WIZARD.length) {
      w.answers[WIZARD[w.step].field] = String(req.body.value ?? '').slice(0, 200);
      w.step += 1;
      if (w.step === WIZARD.length) req.flash('success', 'Sign-up complete.');
    }
    req.session.wizard = w;
    res.redirect('/wizard');
  });
  app.post('/wizard/restart', (req, res) => {
    delete req.session.wizard;
    res.redirect('/wizard');
  });

  // 5. SPA-style JSON API, used with fetch(..., { credentials: 'include' }).
  app.get('/api/me', (req, res) => {
    res.json({ signedIn: Boolean(req.session.userId), name: req.session.name ?? null, role: req.session.role ?? null, visits: req.session.count ?? 0, csrfToken: req.csrfToken() });
  });
  app.get('/api/cart', (req, res) => res.json(cartView(cartOf(req))));
  app.post('/api/cart', (req, res) => {
    const p = PRODUCTS.find((x) => x.id === req.body?.id);
    if (!p) return res.status(400).json({ error: 'unknown product' });
    req.session.cart = { ...cartOf(req), [p.id]: (cartOf(req)[p.id] ?? 0) + 1 };
    res.json(cartView(req.session.cart));
  });
  app.get('/spa', (req, res) => {
    res.locals.page('SPA', `<p>This page talks to the JSON API with <code>fetch(url, { credentials: 'include' })</code>; the CSRF token travels in the <code>x-csrf-token</code> header.</p>
<div class="card"><p id="spa-me">Loading…</p><p>Cart total: <b id="spa-total">…</b></p><button id="spa-add">Add a mug with fetch()</button></div>
<script>
let token;
async function refresh() {
  const me = await (await fetch('/api/me', { credentials: 'include' })).json();
  token = me.csrfToken;
  document.getElementById('spa-me').textContent = me.signedIn ? 'Signed in as ' + me.name + ' (' + me.role + ')' : 'Not signed in';
  const cart = await (await fetch('/api/cart', { credentials: 'include' })).json();
  document.getElementById('spa-total').textContent = '€' + cart.total.toFixed(2);
}
document.getElementById('spa-add').onclick = async () => {
  await fetch('/api/cart', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json', 'x-csrf-token': token }, body: JSON.stringify({ id: 'mug' }) });
  refresh();
};
refresh();
</script>`);
  });

  // 6. What the server holds for this session, without the id.
  app.get('/debug', (req, res) => {
    const data = {};
    for (const k of Object.keys(req.session)) if (k !== 'cookie' && k !== 'csrfSecret') data[k] = req.session[k];
    const c = req.session.cookie;
    res.locals.page('Debug', `<p>Session tag (a hash of the id, safe to show): <code>${esc(idTag(req.sessionID))}</code> · store: <b>${esc(storeName)}</b>${instance ? ` · instance <b>${esc(instance)}</b>` : ''}</p>
<h2>Cookie</h2><pre id="debug-cookie">${esc(JSON.stringify({ maxAge: c.maxAge, originalMaxAge: c.originalMaxAge, expires: c.expires, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite, path: c.path }, null, 2))}</pre>
<h2>Data</h2><pre id="debug-data">${esc(JSON.stringify(data, null, 2))}</pre>
<p class="hint">The CSRF secret is kept in the session too (as <code>csrfSecret</code>) and is not shown.</p>
<h2>Store latency, last requests</h2>
<table id="debug-latency"><thead><tr><th>when</th><th>outcome</th><th>store operations</th><th>total</th></tr></thead><tbody>
${tel
  .recent()
  .map((r) => `<tr><td>${esc(when(r.at))}</td><td>${esc(r.outcome)}</td><td>${r.ops.map((o) => `${esc(o.operation)} ${o.ms.toFixed(2)} ms${o.error ? ` (${esc(o.error)})` : ''}`).join(', ') || '—'}</td><td>${r.ops.reduce((n, o) => n + o.ms, 0).toFixed(2)} ms</td></tr>`)
  .join('\n')}
</tbody></table>
<p class="hint">Every process's sess metrics, in the Prometheus text format: <a href="/metrics">/metrics</a>.</p>`);
  });

  app.use((req, res) => res.locals.page('Not found', '<p>There is nothing here. <a href="/">Home</a></p>', 404));
  app.use((err, req, res, _next) => {
    const status = err.status ?? 500;
    if (req.path.startsWith('/api/')) return res.status(status).json({ error: err.code ?? 'error' });
    const msg = err.code === 'SESS_CSRF' ? 'The form was missing its CSRF token, or the token was wrong. Nothing was changed.' : `Something went wrong (${esc(err.code ?? 'error')}).`;
    if (res.locals.page) return res.locals.page(status === 403 ? 'Rejected' : 'Error', `<p id="error">${msg}</p><p><a href="/">Home</a></p>`, status);
    res.status(status).send(msg);
  });
  return { app, sessions };
}
