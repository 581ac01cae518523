// A minimal sess app: the guide's visit counter, a login that regenerates the session, a protected
// page, flash messages after redirects and a CSRF-protected form. Sessions live in files under
// ./sessions (@sess/store-file): no server needed, and they survive a restart.
import express from 'express';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import session, { csrf, flash } from '@sess/core';
import { FileStore } from '@sess/store-file';

const port = Number(process.env.PORT ?? 3000);
let secret = process.env.SESSION_SECRET;
if (!secret) {
  if (process.env.NODE_ENV === 'production') console.warn('\n*** SESSION_SECRET is not set: using a random secret; every restart logs everyone out ***\n');
  secret = 'dev-only-secret-' + Math.random().toString(36).slice(2);
}

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(session({
  name: 'sid',
  secret,
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', maxAge: 60 * 60 * 1000 },
  store: new FileStore({ dir: process.env.SESSIONS_DIR ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'sessions') }),
}));
app.use(flash());
app.use(csrf());

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (req, body) => `<!doctype html><meta charset="utf-8"><title>sess demo</title>
<style>body{font:16px system-ui;max-width:40rem;margin:3rem auto}.flash{background:#e7f5e7;padding:.5rem}</style>
<h1>sess demo</h1>${req.flash('info').map((m) => `<p class="flash">${esc(m)}</p>`).join('')}${body}`;

app.get('/', (req, res) => {
  req.session.count = (req.session.count || 0) + 1;
  const user = req.session.user;
  res.send(page(req, `<p>Visits: ${req.session.count}</p>
  ${user ? `<p>Signed in as <b>${esc(user.name)}</b> — <a href="/account">account</a></p>
  <form method="post" action="/logout"><input type="hidden" name="_csrf" value="${req.csrfToken()}"><button>Log out</button></form>`
    : `<form method="post" action="/login"><input type="hidden" name="_csrf" value="${req.csrfToken()}">
  <input name="name" placeholder="your name" required> <button>Log in</button></form>`}`));
});

app.post('/login', async (req, res, next) => {
  try {
    await req.session.regenerate(); // fixation protection: new id, empty session
    req.session.user = { name: String(req.body.name).slice(0, 40), role: 'user' };
    req.flash('info', 'Welcome!');
    res.redirect('/');
  } catch (err) {
    next(err);
  }
});

app.get('/account', (req, res) => {
  if (!req.session.user) return res.status(401).send(page(req, '<p>Please <a href="/">log in</a>.</p>'));
  res.send(page(req, `<p>Hello ${esc(req.session.user.name)} (${esc(req.session.user.role)}).</p><a href="/">home</a>`));
});

app.post('/logout', async (req, res, next) => {
  try {
    await req.session.destroy();
    res.clearCookie('sid');
    res.redirect('/');
  } catch (err) {
    next(err);
  }
});

app.use((err, req, res, _next) => res.status(err.status ?? 500).send(`Error: ${esc(err.code ?? err.message)}`));

app.listen(port, () => console.log(`sess demo on http://localhost:${port}`));
