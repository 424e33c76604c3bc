// Browser tests of the web application in headless Chromium (Debian's), driven by
// playwright-core, against the stack ops/web-test starts: a person registers, reads
// the verification email, logs in, finds an asset, asks Kronos for a forecast and sees
// it drawn (checked in the DOM and in the canvas pixels), finds it in the history,
// makes and revokes an API key; an admin deactivates an asset; a user cannot open the
// admin pages. Every page gets an axe-core check (no serious or critical violation)
// and screenshots at desktop and phone widths, light and dark, in $KRONOS_SCREENSHOTS.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const BASE = process.env.KRONOS_WEB_URL ?? 'http://127.0.0.1:18090';
const SHOTS = process.env.KRONOS_SCREENSHOTS ?? '/tmp/kronos-screenshots';
const ADMIN_EMAIL = process.env.KRONOS_WEB_ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.KRONOS_WEB_ADMIN_PASSWORD;
const MAIL_LINK = process.env.KRONOS_MAIL_LINK ?? 'ops/mail-link';
const FORECAST_MODEL = process.env.KRONOS_WEB_MODEL ?? 'kronos-mini';
const PASSWORD = 'correct horse battery 42';
const WAIT = 60_000;

const findings = { pages: {}, timings: {} };
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  writeFileSync(join(SHOTS, 'findings.json'), JSON.stringify(findings, null, 2));
});

async function person(colorScheme = 'light') {
  const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 }, colorScheme });
  const page = await context.newPage();
  page.on('pageerror', (e) => assert.fail(`a script error on ${page.url()}: ${e.message}`));
  return { context, page };
}

/** axe-core on the page as it is: no serious or critical violation. */
async function accessible(page, name) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  findings.pages[name] = { violations: result.violations.map((v) => `${v.impact} ${v.id}`) };
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`),
    [],
    `${name}: accessibility violations`,
  );
}

/** Screenshots at desktop and phone widths, light and dark. */
async function shoot(page, name) {
  const size = page.viewportSize();
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => {
      localStorage.setItem('kronos-theme', t);
      document.documentElement.dataset.theme = t;
    }, theme);
    for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(SHOTS, `${name}-${label}-${theme}.png`), fullPage: true });
    }
  }
  await page.evaluate(() => {
    localStorage.setItem('kronos-theme', 'light');
    document.documentElement.dataset.theme = 'light';
  });
  await page.setViewportSize(size);
}

async function check(page, name) {
  await accessible(page, name);
  await shoot(page, name);
}

async function logIn(page, email, password) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /^Welcome/ }).waitFor({ timeout: WAIT });
}

test('a person signs up, forecasts with Kronos, and manages an API key', async () => {
  const email = `web-${Date.now()}@kronos.localhost`;
  const { context, page } = await person();

  await page.goto('/register');
  await check(page, 'register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText('We sent a link').waitFor();

  // the verification email, from the SMTP capture server
  let link = '';
  for (let i = 0; i < 50 && !link; i++) {
    try {
      link = execFileSync(MAIL_LINK, [email, 'verify-email'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      await page.waitForTimeout(300);
    }
  }
  assert.ok(link, 'the verification email arrived');
  await page.goto(new URL(link).pathname + new URL(link).search);
  await page.getByRole('button', { name: 'Verify my address' }).click();
  await page.getByText(/verified/i).first().waitFor();

  await page.goto('/login');
  await check(page, 'login');
  await logIn(page, email, PASSWORD);
  await check(page, 'dashboard');

  // find an asset
  await page.getByRole('link', { name: 'Assets', exact: true }).click();
  const search = page.getByRole('combobox', { name: 'Search by symbol or name' });
  // by name, from the keyboard: "alph" suggests GOOG then GOOGL (Alphabet's classes)
  await search.fill('alph');
  await page.getByRole('option', { name: /GOOGL/ }).waitFor();
  await check(page, 'search');
  await search.press('ArrowDown');
  await search.press('ArrowDown');
  assert.equal(await page.getByRole('listbox', { name: 'Suggestions' }).getByRole('option', { selected: true }).textContent().then((t) => t.trim().split(/\s+/)[0]), 'GOOGL');
  const opened = Date.now();
  await search.press('Enter');
  await page.waitForURL('**/assets/GOOGL');
  const chart = page.getByTestId('price-chart');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=price-chart]')?.dataset.bars) > 0, null, { timeout: WAIT });
  findings.timings.asset_page_ms = Date.now() - opened;
  findings.timings.asset_bars = Number(await chart.getAttribute('data-bars'));

  // ask Kronos for a forecast and follow its job live
  await page.getByLabel('Model').selectOption(FORECAST_MODEL);
  await page.getByLabel('Horizon (bars)').selectOption('5');
  await page.getByLabel('Sample paths').fill('8');
  const before = await bandPixels(page);
  await page.getByRole('button', { name: 'Forecast GOOGL' }).click();
  const statuses = new Set();
  const started = Date.now();
  while (Date.now() - started < WAIT) {
    const s = await page.getByTestId('job-status').getAttribute('data-status').catch(() => null);
    if (s) statuses.add(s);
    if (s === 'succeeded' || s === 'failed') break;
    await page.waitForTimeout(50);
  }
  findings.timings.forecast_ms = Date.now() - started;
  findings.timings.statuses = [...statuses];
  assert.ok(statuses.has('succeeded'), `the forecast succeeded: ${[...statuses]}`);
  await page.getByTestId('forecast-result').waitFor();
  const probUp = await page.getByTestId('prob-up').textContent();
  assert.match(probUp, /^\d+ %$/, 'prob_up shown as a percentage');
  assert.equal(await chart.getAttribute('data-forecast-steps'), '6', 'the mean path: the last close and 5 steps');
  await chart.screenshot({ path: join(SHOTS, 'asset-forecast-kronos-chart.png') });
  // the band in pixels: kronos-mini's random weights make paths that barely disagree,
  // so the naive baseline's (its empirical quantiles: a wide band) is drawn and counted
  await page.getByLabel('Model').selectOption('naive');
  await page.getByRole('button', { name: 'Forecast GOOGL' }).click();
  await page.waitForSelector('[data-testid=job-status][data-status=succeeded]', { timeout: WAIT });
  await page.waitForFunction(() => document.querySelector('[data-testid=band]')?.textContent?.includes('–'), null, { timeout: WAIT });
  await page.waitForTimeout(300);
  const afterForecast = await bandPixels(page);
  await chart.screenshot({ path: join(SHOTS, 'asset-forecast-naive-chart.png') });
  findings.timings.band_pixels = [before, afterForecast];
  await check(page, 'asset-forecast');
  assert.ok(afterForecast > before + 50, `the band is painted on the canvas (${before} → ${afterForecast} band pixels)`);

  // the history lists it
  await page.getByRole('link', { name: 'History' }).click();
  await page.getByTestId('history').getByRole('link', { name: 'GOOGL' }).first().waitFor();
  await check(page, 'history');

  // a backtest: the equity curve beside buy and hold, and the trades on the price chart
  await page.getByRole('link', { name: 'Backtests' }).click();
  await page.getByLabel('Symbols').fill('GOOGL');
  await page.getByLabel('Strategy').selectOption('sma_cross');
  await page.getByRole('button', { name: 'Run the backtest' }).click();
  await page.waitForSelector('[data-testid=backtest-status][data-status=succeeded]', { timeout: WAIT });
  const result = page.getByTestId('backtest-result');
  await result.waitFor({ timeout: WAIT });
  const charts = result.getByTestId('price-chart');
  await page.waitForFunction(
    () => {
      const c = document.querySelectorAll('[data-testid=backtest-result] [data-testid=price-chart]');
      return c.length === 2 && Number(c[0].dataset.lines) === 3 && Number(c[1].dataset.bars) > 0 && Number(c[1].dataset.markers) > 0;
    },
    null,
    { timeout: WAIT },
  );
  findings.timings.backtest_markers = Number(await charts.nth(1).getAttribute('data-markers'));
  await check(page, 'backtest');
  // a two-parameter sweep: the ranking as a sortable table and a heatmap (3 × 3)
  await page.getByLabel('Sweep the parameters').check();
  await page.getByLabel('fast values').fill('5, 10, 20');
  await page.getByLabel('slow values').fill('50, 100, 150');
  await page.getByRole('button', { name: 'Run the backtest' }).click();
  await page.getByTestId('sweep-heatmap').waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('sweep-heatmap').locator('tbody tr').count(), 3);
  assert.equal(await page.getByTestId('sweep-table').locator('tbody tr').count(), 9);
  await page.getByTestId('sweep-table').getByRole('button', { name: /total return/ }).click();
  const returns = await page.getByTestId('sweep-table').locator('tbody tr td:nth-child(6)').allTextContents();
  const values = returns.map((t) => parseFloat(t));
  assert.deepEqual(values, [...values].sort((a, b) => b - a), 'sorted by total return, best first');
  await check(page, 'backtest-sweep');

  // an API key, shown once, then revoked
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByLabel('Key name').fill('browser test');
  await page.getByRole('button', { name: 'Create a key' }).click();
  const key = await page.getByTestId('new-key').textContent();
  assert.match(key, /^kr_live_/, 'the key is shown once');
  const keyWorks = await fetch(`${BASE}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(keyWorks.status, 200);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Revoke browser test' }).click();
  await page.getByTestId('api-keys').getByText('revoked').waitFor();
  assert.equal((await fetch(`${BASE}/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status, 401, 'revoked at once');
  await check(page, 'account');

  // not an admin
  await page.goto('/admin');
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await context.close();
});

test('an admin deactivates an asset', { skip: !ADMIN_EMAIL && 'no admin credentials given' }, async () => {
  const { context, page } = await person('dark');
  await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByLabel('Filter').fill('IXIC');
  await page.getByRole('button', { name: 'Deactivate IXIC' }).click();
  await page.getByTestId('admin-assets').getByText('inactive').waitFor();
  await check(page, 'admin-assets');
  const asset = await (await fetch(`${BASE}/v1/assets/IXIC`)).json();
  assert.equal(asset.active, false);
  await page.getByRole('button', { name: 'Activate IXIC' }).click();
  await page.getByTestId('admin-assets').getByText('active', { exact: true }).waitFor();
  // a group in the order the admin sets
  await page.getByRole('link', { name: 'Groups' }).click();
  await page.getByRole('button', { name: 'New group…' }).click();
  const editor = page.getByTestId('group-editor');
  await editor.getByLabel('Slug').fill('web-test');
  await editor.getByLabel('Name', { exact: true }).fill('Web test');
  for (const symbol of ['GOOGL', 'IXIC']) {
    await editor.getByLabel('Add a member').fill(symbol);
    await editor.getByRole('button', { name: 'Add', exact: true }).click();
  }
  await editor.getByRole('button', { name: 'Move IXIC up' }).click();
  await editor.getByRole('button', { name: 'Save the group' }).click();
  await editor.getByText('Saved.').waitFor();
  await check(page, 'admin-groups');
  const group = await (await fetch(`${BASE}/v1/asset-groups/web-test`)).json();
  assert.deepEqual(group.members.map((m) => m.symbol), ['IXIC', 'GOOGL'], 'the order set in the page');
  // a model's pool: GOOGL added, then disabled
  await page.getByRole('link', { name: 'Model pools' }).click();
  await page.getByLabel('Add assets').fill('GOOGL');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByTestId('pool').getByRole('cell', { name: 'GOOGL', exact: true }).waitFor();
  await page.getByLabel('GOOGL enabled').uncheck();
  await page.waitForFunction(() => !document.querySelector('[data-testid=pool] input[type=checkbox]')?.checked);
  await check(page, 'admin-pools');
  const pool = await (await fetch(`${BASE}/v1/models/kronos-mini/assets`)).json();
  assert.deepEqual(pool.assets.map((a) => [a.symbol, a.enabled]), [['GOOGL', false]]);
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: 'admin_write' }).first().waitFor();
  await check(page, 'admin-audit');
  await context.close();
});

/** Pixels of the forecast band's tint in a screenshot of the chart (what a person
 * sees: decoded by the browser itself, then counted). */
async function bandPixels(page) {
  const png = await page.getByTestId('price-chart').screenshot();
  return page.evaluate(async (b64) => {
    // the colours as the browser resolves them (the build shortens #ffffff to #fff)
    const resolve = (name) => {
      const probe = document.createElement('div');
      probe.style.color = `var(${name})`;
      document.body.append(probe);
      const rgba = getComputedStyle(probe).color.match(/[\d.]+/g).map(Number);
      probe.remove();
      return rgba;
    };
    const [r, g, b, a] = resolve('--band');
    const [br, bg, bb] = resolve('--panel');
    const alpha = a ?? 1;
    const want = [r * alpha + br * (1 - alpha), g * alpha + bg * (1 - alpha), b * alpha + bb * (1 - alpha)];
    const image = new Image();
    image.src = `data:image/png;base64,${b64}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - want[0]) < 4 && Math.abs(data[i + 1] - want[1]) < 4 && Math.abs(data[i + 2] - want[2]) < 4) n++;
    }
    return n;
  }, png.toString('base64'));
}

test('the asset page with 5,000 candles: first load and time to the chart (measured, not asserted)', async () => {
  const { context, page } = await person();
  await page.goto('/assets/IXIC?interval=1d');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=price-chart]')?.dataset.bars) >= 5000, null, {
    timeout: WAIT,
    polling: 'raf',
  });
  const measured = await page.evaluate(() => {
    const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
    const code = entries.filter((e) => /\.(js|css)$/.test(new URL(e.name).pathname) || e.entryType === 'navigation');
    return {
      interactive_ms: Math.round(performance.now()),
      code_bytes_transferred: code.reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0),
      code_files: code.length,
    };
  });
  findings.timings.first_load_5000_candles = { bars: 5000, ...measured };
  assert.ok(measured.code_files >= 3, 'the page, its script and its styles were loaded');
  await context.close();
});
