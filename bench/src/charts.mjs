#!/usr/bin/env node
// The charts of docs/performance.md, drawn from the bench's JSON output (results/targets.json from
// `run.mjs --variant targets --out`, results/scale.json from scale.mjs, results/cluster.json from cluster.mjs)
// with Vega-Lite, rendered to SVG in Node (no browser, no canvas):
//   pnpm --filter @sess/bench charts      (node src/charts.mjs [--results results] [--out ../docs/performance])
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i === -1 ? dflt : args[i + 1];
};
const resultsDir = path.resolve(opt('results', path.join(here, '..', 'results')));
const outDir = path.resolve(opt('out', path.join(here, '..', '..', 'docs', 'performance')));
mkdirSync(outDir, { recursive: true });

const SESS = 'sess';
const INCUMBENT = 'incumbent';
const colors = { domain: [INCUMBENT, SESS], range: ['#9a9a9a', '#1f6feb'] };
const config = { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 }, legend: { labelFontSize: 11, titleFontSize: 11 }, header: { labelFontSize: 12, titleFontSize: 12 } };

/** Render a Vega-Lite spec to SVG in `name`.svg. */
async function render(name, spec) {
  const { spec: compiled } = vegaLite.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config, background: 'white', ...spec });
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(path.join(outDir, name + '.svg'), svg + '\n');
  console.log(`wrote ${path.relative(process.cwd(), path.join(outDir, name + '.svg'))}`);
}

const load = (file) => {
  const p = path.join(resultsDir, file);
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null;
};
const storeOf = (variant) => variant.replace(/-client/, '').replace(/-recommended$/, '').replace(/-touchAfter$/, '');
const clientOf = (variant) => (variant.includes('-client') || ['memory', 'file'].includes(storeOf(variant)) ? 'client created by the app' : 'client created by the store');

// 1. The targets: sess ÷ incumbent req/s for every store and scenario, with the target and parity marked.
const TARGETS = {
  'redis:write': 1.3,
  'pg:read': 3,
  'pg:write': 1.2,
  'file:read': 3,
  'memory:write': 1.1,
};
const targets = load('targets.json');
if (targets) {
  const rows = targets.results.map((r) => ({
    store: storeOf(r.variant),
    client: clientOf(r.variant),
    scenario: r.scenario,
    ratio: r.ratio,
    low: r.ratioMin,
    high: r.ratioMax,
    target: TARGETS[`${storeOf(r.variant)}:${r.scenario}`] ?? 1,
    label: `${storeOf(r.variant)}${r.variant.includes('-client') ? ' (app client)' : ['redis', 'pg', 'mysql', 'mongo'].includes(storeOf(r.variant)) ? ' (store client)' : ''}`,
  }));
  const top = Math.ceil(Math.max(4, ...rows.map((r) => r.high), ...rows.map((r) => r.ratio)));
  await render('targets', {
    title: { text: 'sess ÷ incumbent, req/s (recommended options; bar: median of rounds, line: their range; tick: target)', fontSize: 13 },
    data: { values: rows },
    facet: { column: { field: 'scenario', type: 'nominal', title: null, sort: ['read', 'write', 'create'] } },
    spec: {
      width: 230,
      height: { step: 18 },
      layer: [
        { mark: { type: 'bar', color: '#1f6feb' }, encoding: { y: { field: 'label', type: 'nominal', title: null }, x: { field: 'ratio', type: 'quantitative', title: 'ratio', scale: { domain: [0, top] } } } },
        { mark: { type: 'rule', color: '#0b3d91' }, encoding: { y: { field: 'label', type: 'nominal' }, x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
        { mark: { type: 'tick', color: '#d1242f', thickness: 2 }, encoding: { y: { field: 'label', type: 'nominal' }, x: { field: 'target', type: 'quantitative' } } },
        { mark: { type: 'rule', strokeDash: [3, 3], color: '#555' }, encoding: { x: { datum: 1 } } },
        { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { y: { field: 'label', type: 'nominal' }, x: { field: 'ratio', type: 'quantitative' }, text: { field: 'ratio', type: 'quantitative', format: '.2f' } } },
      ],
    },
  });

  // The store server's CPU per request next to it (networked stores).
  const cpuRows = targets.results
    .filter((r) => r.esStoreCpuUs !== null && r.esStoreCpuUs !== undefined)
    .flatMap((r) => [
      { who: INCUMBENT, label: `${storeOf(r.variant)}${r.variant.includes('-client') ? ' (app client)' : ' (store client)'}`, scenario: r.scenario, us: r.esStoreCpuUs },
      { who: SESS, label: `${storeOf(r.variant)}${r.variant.includes('-client') ? ' (app client)' : ' (store client)'}`, scenario: r.scenario, us: r.sessStoreCpuUs },
    ]);
  if (cpuRows.length) {
    await render('store-cpu', {
      title: { text: 'Store server CPU per request (µs; lower is better)', fontSize: 13 },
      data: { values: cpuRows },
      facet: { column: { field: 'scenario', type: 'nominal', title: null, sort: ['read', 'write', 'create'] } },
      spec: {
        width: 230,
        height: { step: 12 },
        mark: 'bar',
        encoding: {
          y: { field: 'label', type: 'nominal', title: null },
          yOffset: { field: 'who', sort: [INCUMBENT, SESS] },
          x: { field: 'us', type: 'quantitative', title: 'µs per request' },
          color: { field: 'who', type: 'nominal', title: null, scale: colors },
        },
      },
    });
  }
}

// 2. Scale curves: req/s and p99 against live sessions, per store; memory per session; prune; per-user index.
const scale = load('scale.json');
if (scale) {
  const rows = scale.results.flatMap((r) => [
    { store: r.store, sessions: r.sessions, who: INCUMBENT, rps: r.esRps, p99: r.esP99 },
    { store: r.store, sessions: r.sessions, who: SESS, rps: r.sessRps, p99: r.sessP99 },
  ]);
  const curve = (field, title) => ({
    data: { values: rows },
    facet: { column: { field: 'store', type: 'nominal', title: null, sort: ['memory', 'redis', 'pg', 'mysql', 'mongo', 'file'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 150,
      height: 150,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'sessions', type: 'quantitative', scale: { type: 'log', domain: [800, 1250000] }, title: 'live sessions', axis: { values: [1000, 10000, 100000, 1000000], format: '~s' } },
        y: { field, type: 'quantitative', title },
        color: { field: 'who', type: 'nominal', title: null, scale: colors },
      },
    },
  });
  await render('scale-rps', { title: { text: 'Reads spread over every live session: req/s', fontSize: 13 }, ...curve('rps', 'req/s') });
  await render('scale-p99', { title: { text: 'Reads spread over every live session: p99 latency (ms)', fontSize: 13 }, ...curve('p99', 'p99 ms') });

  const bytes = scale.results.flatMap((r) =>
    r.bytesPerSession !== undefined && r.bytesPerSession !== null
      ? [{ store: r.store, sessions: r.sessions, who: 'same data, both', bytes: r.bytesPerSession }]
      : r.esBytesPerSession !== undefined
        ? [
            { store: r.store, sessions: r.sessions, who: INCUMBENT, bytes: r.esBytesPerSession },
            { store: r.store, sessions: r.sessions, who: SESS, bytes: r.sessBytesPerSession },
          ]
        : [],
  );
  await render('scale-bytes', {
    title: { text: 'Memory or storage per session (bytes; the stores share one layout, MemoryStore is each process heap)', fontSize: 13 },
    data: { values: bytes.map((b) => ({ ...b, size: b.sessions >= 1e6 ? '1M' : b.sessions >= 1e5 ? '100k' : '1k' })) },
    facet: { column: { field: 'store', type: 'nominal', title: null, sort: ['memory', 'redis', 'pg', 'mysql', 'mongo', 'file'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 110,
      height: 150,
      mark: 'bar',
      encoding: {
        x: { field: 'size', type: 'ordinal', title: 'live sessions', sort: ['1k', '100k', '1M'] },
        xOffset: { field: 'who' },
        y: { field: 'bytes', type: 'quantitative', title: 'bytes per session' },
        color: { field: 'who', type: 'nominal', title: null, scale: { domain: [INCUMBENT, SESS, 'same data, both'], range: ['#9a9a9a', '#1f6feb', '#6e7781'] } },
      },
    },
  });

  const prune = scale.results.flatMap((r) =>
    ['sess', 'es'].flatMap((side) => {
      const p = r.prune?.[side];
      if (!p || p.error) return [];
      const who = side === 'sess' ? SESS : INCUMBENT;
      return [
        { store: r.store, sessions: r.sessions, who, phase: 'p99 without prune', ms: p.p99Quiet, pruneMs: p.pruneMs },
        { store: r.store, sessions: r.sessions, who, phase: 'p99 during prune', ms: p.p99During ?? 0, pruneMs: p.pruneMs },
      ];
    }),
  );
  if (prune.length) {
    await render('prune', {
      title: { text: 'One prune pass over 10% expired sessions: request p99 without and during it (sess; target: within 2x)', fontSize: 13 },
      data: { values: prune.filter((p) => p.who === SESS).map((p) => ({ ...p, size: p.sessions >= 1e6 ? '1M' : p.sessions >= 1e5 ? '100k' : '1k' })) },
      facet: { column: { field: 'store', type: 'nominal', title: null, sort: ['memory', 'pg', 'mysql', 'mongo', 'file'] } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 120,
        height: 150,
        mark: 'bar',
        encoding: {
          x: { field: 'size', type: 'ordinal', title: 'live sessions', sort: ['1k', '100k', '1M'] },
          xOffset: { field: 'phase', sort: ['p99 without prune', 'p99 during prune'] },
          y: { field: 'ms', type: 'quantitative', title: 'p99 ms' },
          color: { field: 'phase', type: 'nominal', title: null, scale: { domain: ['p99 without prune', 'p99 during prune'], range: ['#9ecbff', '#1f6feb'] } },
        },
      },
    });
    await render('prune-time', {
      title: { text: 'Time of one prune pass (ms, log scale)', fontSize: 13 },
      data: { values: prune.filter((p) => p.phase === 'p99 without prune').map((p) => ({ ...p, size: p.sessions >= 1e6 ? '1M' : p.sessions >= 1e5 ? '100k' : '1k' })) },
      facet: { column: { field: 'store', type: 'nominal', title: null, sort: ['memory', 'pg', 'mysql', 'mongo', 'file'] } },
      spec: {
        width: 120,
        height: 150,
        mark: 'bar',
        encoding: {
          x: { field: 'size', type: 'ordinal', title: 'live sessions', sort: ['1k', '100k', '1M'] },
          xOffset: { field: 'who', sort: [INCUMBENT, SESS] },
          y: { field: 'pruneMs', type: 'quantitative', title: 'ms', scale: { type: 'log' } },
          color: { field: 'who', type: 'nominal', title: null, scale: colors },
        },
      },
    });
  }

  const users = scale.results
    .filter((r) => r.perUser)
    .flatMap((r) =>
      ['es', 'sess'].flatMap((side) => [
        { store: r.store, who: side === 'sess' ? SESS : INCUMBENT, op: 'list the user\'s sessions', ms: Math.max(1, r.perUser[side].listMs) },
        { store: r.store, who: side === 'sess' ? SESS : INCUMBENT, op: 'sign out all but the current', ms: Math.max(1, r.perUser[side].destroyMs) },
      ]),
    );
  if (users.length) {
    await render('per-user', {
      title: { text: `One user with ${scale.userSessions.toLocaleString('en')} sessions (MongoDB on FerretDB: 1,000) among ${(scale.results.find((r) => r.perUser)?.sessions ?? 0).toLocaleString('en')} (ms, log scale; incumbent: what an app does without an index)`, fontSize: 13 },
      data: { values: users },
      facet: { column: { field: 'op', type: 'nominal', title: null } },
      spec: {
        width: 260,
        height: { step: 12 },
        mark: 'bar',
        encoding: {
          y: { field: 'store', type: 'nominal', title: null, sort: ['memory', 'redis', 'pg', 'mysql', 'mongo', 'file'] },
          yOffset: { field: 'who', sort: [INCUMBENT, SESS] },
          x: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'log' } },
          color: { field: 'who', type: 'nominal', title: null, scale: colors },
        },
      },
    });
  }
}

// 3. Several processes: req/s with 1 and 2 node:cluster workers.
const clustered = load('cluster.json');
if (clustered) {
  const rows = clustered.results.flatMap((r) => [
    { case: `${storeOf(r.variant)} ${r.scenario}`, workers: `${r.workers} worker${r.workers > 1 ? 's' : ''}`, who: INCUMBENT, rps: r.esRps },
    { case: `${storeOf(r.variant)} ${r.scenario}`, workers: `${r.workers} worker${r.workers > 1 ? 's' : ''}`, who: SESS, rps: r.sessRps },
  ]);
  await render('cluster', {
    title: { text: 'node:cluster, 1 and 2 workers on the 2-core machine (req/s)', fontSize: 13 },
    data: { values: rows },
    facet: { column: { field: 'case', type: 'nominal', title: null } },
    spec: {
      width: 120,
      height: 150,
      mark: 'bar',
      encoding: {
        x: { field: 'workers', type: 'ordinal', title: null },
        xOffset: { field: 'who', sort: [INCUMBENT, SESS] },
        y: { field: 'rps', type: 'quantitative', title: 'req/s' },
        color: { field: 'who', type: 'nominal', title: null, scale: colors },
      },
    },
  });
}

// With --tables: the same results as Markdown tables, for docs/performance.md.
if (args.includes('--tables')) {
  const f = (x, d = 0) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
  if (targets) {
    console.log('\n| variant | scenario | incumbent req/s | sess req/s | ratio | rounds | app CPU µs/req inc → sess | store server CPU µs/req inc → sess | target |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of targets.results) {
      const t = TARGETS[`${storeOf(r.variant)}:${r.scenario}`] ?? 1;
      const met = r.ratio >= t ? 'met' : '**not met**';
      console.log(`| ${r.variant} | ${r.scenario} | ${r.esRps} | ${r.sessRps} | **${r.ratio.toFixed(2)}×** | ${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)} | ${r.esCpuUs} → ${r.sessCpuUs} | ${r.esStoreCpuUs === null ? '–' : `${f(r.esStoreCpuUs, 1)} → ${f(r.sessStoreCpuUs, 1)}`} | ≥ ${t} ${met} |`);
    }
  }
  if (scale) {
    console.log('\n| store | live sessions | incumbent req/s (p99 ms) | sess req/s (p99 ms) | ratio | store server CPU µs/req inc → sess | bytes per session | sess prune pass: ms, p99 without → during | incumbent prune pass: ms, p99 without → during |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of scale.results) {
      if (r.error) {
        console.log(`| ${r.store} | ${r.sessions.toLocaleString('en')} | failed: ${r.error} | | | | | | |`);
        continue;
      }
      const bytes = r.bytesPerSession ?? `${r.esBytesPerSession} → ${r.sessBytesPerSession}`;
      const pr = (p) => (!p ? 'none' : p.error ? `failed: ${p.error}` : `${p.pruneMs} ms, ${f(p.p99Quiet)} → ${f(p.p99During)} (${p.requestsDuring} requests)`);
      console.log(`| ${r.store} | ${r.sessions.toLocaleString('en')} | ${r.esRps} (${f(r.esP99)}) | ${r.sessRps} (${f(r.sessP99)}) | **${r.ratio.toFixed(2)}×** | ${r.esStoreCpuUs === null ? '–' : `${f(r.esStoreCpuUs, 1)} → ${f(r.sessStoreCpuUs, 1)}`} | ${bytes} | ${pr(r.prune?.sess)} | ${pr(r.prune?.es)} |`);
    }
    console.log('\n| store | sessions of the user | list: incumbent → sess (ms) | sign out all but the current: incumbent → sess (ms) |');
    console.log('|---|---|---|---|');
    for (const r of scale.results.filter((x) => x.perUser)) {
      console.log(`| ${r.store} | ${r.perUser.userSessions ?? scale.userSessions} of ${r.sessions.toLocaleString('en')} | ${r.perUser.es.listMs} → ${r.perUser.sess.listMs} | ${r.perUser.es.destroyMs} → ${r.perUser.sess.destroyMs} |`);
    }
  }
  if (clustered) {
    console.log('\n| variant | scenario | workers | incumbent req/s | sess req/s | ratio | sess: n workers ÷ 1 | incumbent: n workers ÷ 1 |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of clustered.results) {
      const one = clustered.results.find((x) => x.variant === r.variant && x.scenario === r.scenario && x.workers === 1);
      console.log(`| ${r.variant} | ${r.scenario} | ${r.workers} | ${r.esRps} | ${r.sessRps} | **${r.ratio.toFixed(2)}×** | ${(r.sessRps / one.sessRps).toFixed(2)}× | ${(r.esRps / one.esRps).toFixed(2)}× |`);
    }
  }
}
