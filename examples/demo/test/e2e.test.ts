/**
 * The demo in a real browser: Debian's Chromium driven by playwright-core (never a downloaded browser).
 * Screenshots of the main pages go to examples/demo/artifacts/.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDemo } from './helpers';

const executablePath = process.env.SESS_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = path.join(__dirname, '..', 'artifacts');
const hasBrowser = existsSync(executablePath);

let demo: Awaited<ReturnType<typeof startDemo>>;
let browser: Browser;

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

/** Click a submit button and wait for the page the form leads to. */
async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function login(ctx: BrowserContext, user: string, password: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(demo.url + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(/\/account$/), page.click('form.card button')]);
  return page;
}

if (!hasBrowser) {
  if (process.env.CI === 'true') test('chromium must be installed under CI (scripts/ensure-chromium.sh)', () => { throw new Error(`${executablePath} is missing`); });
  else test.skip(`[skipped: no browser at ${executablePath}; run scripts/ensure-chromium.sh] demo in Chromium`, () => undefined);
} else {
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    demo = await startDemo({ SESS_DEMO_STORE: 'file', SESSIONS_DIR: mkdtempSync(path.join(os.tmpdir(), 'sess-demo-e2e-')) });
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('visit counter, login with a fresh id, cart, wizard across reloads, flash, SPA fetch, debug page', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(demo.url + '/');
    expect(await page.textContent('#visits')).toBe('1');
    await page.reload();
    expect(await page.textContent('#visits')).toBe('2');
    await shot(page, 'home');
    const before = (await ctx.cookies()).find((c) => c.name === 'sid')!;
    expect(before.httpOnly).toBe(true);
    expect(before.sameSite).toBe('Lax');

    // A protected page sends us to log in, with a flash message.
    await page.goto(demo.url + '/account');
    expect(page.url()).toContain('/login');
    expect(await page.textContent('.flash.error')).toContain('Please log in first');
    await shot(page, 'login');
    await page.fill('input[name=username]', 'bob');
    await page.fill('input[name=password]', 'builder');
    await Promise.all([page.waitForURL(/\/account$/), page.click('form.card button')]);
    expect(await page.textContent('.flash.success')).toContain('Welcome, Bob!');
    await shot(page, 'account');
    const after = (await ctx.cookies()).find((c) => c.name === 'sid')!;
    expect(after.value).not.toBe(before.value); // regenerated on login
    await page.reload();
    expect(await page.locator('.flash').count()).toBe(0); // a flash shows once

    // Roles: bob is not an admin.
    const admin = await page.goto(demo.url + '/admin');
    expect(admin!.status()).toBe(403);

    // Cart.
    await page.goto(demo.url + '/cart');
    await submit(page, 'button[data-add=tea]');
    await submit(page, 'button[data-add=mug]');
    expect(await page.textContent('.flash.success')).toContain('Enamel mug added');
    await page.reload();
    expect(await page.textContent('#total')).toBe('€16.50');
    await shot(page, 'cart');

    // Wizard: each step survives a reload.
    await page.goto(demo.url + '/wizard');
    await page.fill('input[name=value]', 'Bob Builder');
    await submit(page, 'form.card button:has-text("Next")');
    await page.reload();
    expect(await page.textContent('#step')).toBe('2');
    await page.fill('input[name=value]', 'bob@example.com');
    await submit(page, 'form.card button:has-text("Next")');
    await page.reload();
    expect(await page.textContent('#step')).toBe('3');
    await page.selectOption('select[name=value]', 'Team');
    await submit(page, 'form.card button:has-text("Finish")');
    expect(await page.textContent('#summary')).toContain('bob@example.com');
    expect(await page.textContent('.flash.success')).toContain('Sign-up complete');
    await shot(page, 'wizard');

    // SPA: fetch with credentials, CSRF token in a header.
    await page.goto(demo.url + '/spa');
    await page.waitForFunction(() => document.getElementById('spa-me')?.textContent?.startsWith('Signed in as Bob'));
    // The cart is a fetch of its own: wait for it rather than read it the moment the user fetch landed.
    await page.waitForFunction(() => document.getElementById('spa-total')?.textContent !== '…');
    expect(await page.textContent('#spa-total')).toBe('€16.50');
    await page.click('#spa-add');
    await page.waitForFunction(() => document.getElementById('spa-total')?.textContent === '€28.50');
    await shot(page, 'spa');

    // Debug page: what the server holds, never the id.
    await page.goto(demo.url + '/debug');
    const html = await page.content();
    const rawId = decodeURIComponent(after.value).slice(2).split('.')[0]!;
    expect(html).not.toContain(rawId);
    expect(await page.textContent('#debug-data')).toContain('"cart"');
    await shot(page, 'debug');
    await ctx.close();
  }, 120_000);

  test('a form without its CSRF token, or with a wrong one, is rejected and changes nothing', async () => {
    const ctx = await browser.newContext();
    const page = await login(ctx, 'bob', 'builder');
    // Remove the token from the form, then submit it in the browser.
    await page.goto(demo.url + '/cart');
    await page.evaluate(() => document.querySelectorAll('input[name=_csrf]').forEach((e) => e.remove()));
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/cart/add')), page.click('button[data-add=book]')]);
    expect(res.status()).toBe(403);
    expect(await page.textContent('#error')).toContain('CSRF');
    await shot(page, 'csrf-rejected');
    const wrong = await ctx.request.post(demo.url + '/cart/add', { form: { id: 'book', _csrf: 'not-the-token' }, maxRedirects: 0 });
    expect(wrong.status()).toBe(403);
    await page.goto(demo.url + '/cart');
    expect(await page.locator('#cart-empty').count()).toBe(1);
    await ctx.close();
  }, 60_000);

  test('log out destroys the session: the old cookie no longer works', async () => {
    const ctx = await browser.newContext();
    const page = await login(ctx, 'alice', 'wonderland');
    const old = (await ctx.cookies()).find((c) => c.name === 'sid')!;
    await Promise.all([page.waitForURL(/\/\?bye=1$/), page.click('#logout')]);
    expect(await page.textContent('.flash.info')).toContain('logged out');
    // The home page the logout redirects to counts a visit: a new session, never the old one.
    expect((await ctx.cookies()).find((c) => c.name === 'sid')?.value).not.toBe(old.value);
    const replay = await fetch(demo.url + '/account', { headers: { cookie: `sid=${old.value}` }, redirect: 'manual' });
    expect(replay.status).toBe(302);
    expect(replay.headers.get('location')).toContain('/login');
    await ctx.close();
  }, 60_000);

  test('log out everywhere else, from a second browser', async () => {
    const laptop = await browser.newContext({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36' });
    const phone = await browser.newContext({ userAgent: 'Mozilla/5.0 (Linux; Android 14) Chrome/156.0 Mobile Safari/537.36' });
    const a = await login(laptop, 'alice', 'wonderland');
    const b = await login(phone, 'alice', 'wonderland');
    await b.goto(demo.url + '/sessions');
    expect(await b.locator('#sessions tbody tr').count()).toBe(2);
    expect(await b.textContent('#sessions')).toContain('Chrome on Android');
    expect(await b.textContent('#sessions')).toContain('Chrome on Linux');
    await shot(b, 'sessions');
    await submit(b, 'button:has-text("Log out everywhere else")');
    expect(await b.textContent('.flash.success')).toContain('Logged out 1 other session');
    expect(await b.locator('#sessions tbody tr').count()).toBe(1);
    await a.goto(demo.url + '/account');
    expect(a.url()).toContain('/login');
    await b.goto(demo.url + '/account');
    expect(b.url()).toMatch(/\/account$/);
    await laptop.close();
    await phone.close();
  }, 60_000);
}
