// The routes of the fault harness's apps and the soak's: log in (a counter at 0, plus `extra`), read the counter,
// increment it (401 without a session), log out, and typed errors as their status and code.
module.exports = function counterRoutes(app, extra = {}) {
  app.get('/login', (req, res) => {
    req.session.user = 'u';
    req.session.n = 0;
    Object.assign(req.session, extra);
    res.send('0');
  });
  app.get('/read', (req, res) => (req.session.user ? res.send(String(req.session.n)) : res.status(401).send('no session')));
  app.get('/inc', (req, res) => {
    if (!req.session.user) return res.status(401).send('no session');
    req.session.n += 1;
    res.send(String(req.session.n));
  });
  app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('bye'))));
  app.use((err, req, res, _next) => res.status(err.status || 500).send(err.code || 'error'));
};
