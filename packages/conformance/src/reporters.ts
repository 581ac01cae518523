/**
 * How a run is reported: text (a line per case as it ends), JSON, JUnit XML (what CI systems read) and a
 * Markdown compatibility table a store can paste into its README. Every reporter gives each failure its full
 * reason and what it means for the store's users, and a line of totals per level.
 */
import { counts, summarise } from './runner.js';
import type { CaseResult, Level } from './types.js';

/** The reporters the CLI and `report()` know. */
export const REPORTERS = ['text', 'json', 'junit', 'markdown'] as const;
export type ReporterName = (typeof REPORTERS)[number];

const LEVELS: Level[] = ['express-session', 'sess'];

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

/** One case as the text reporter prints it (the first line, then what a failure means). */
export function textLine(r: CaseResult, level: Level = 'sess', late = false): string {
  const tag = r.status === 'passed' ? 'ok  ' : r.status === 'failed' ? 'FAIL' : 'skip';
  const counted = counts(r.level, level) ? '' : ` [${r.level} level: not counted at --level ${level}]`;
  let line = `${tag} ${r.id}${late ? ' (late)' : ''}${r.reason ? ` — ${r.reason}` : ''} (${seconds(r.durationMs)})${counted}`;
  if (r.status === 'failed' && r.impact) line += `\n     what it means: ${r.impact}`;
  return line;
}

/** A totals line for each level: the express-session contract, and what sess needs beyond it. */
export function levelLines(results: CaseResult[]): string[] {
  return LEVELS.map((l) => {
    const mine = results.filter((r) => r.level === l);
    const s = summarise(mine);
    const label = l === 'express-session' ? 'express-session level (what express-session apps rely on)' : 'sess level (what sess features need beyond it)';
    return `${label}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
  });
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** JUnit XML: one testsuite per level, one testcase per case; a failure's message is its reason, its body adds what it means. */
export function junit(results: CaseResult[], name = 'sess-conformance'): string {
  const suites = LEVELS.map((l) => {
    const mine = results.filter((r) => r.level === l);
    const s = summarise(mine);
    const time = mine.reduce((a, r) => a + r.durationMs, 0) / 1000;
    const cases = mine.map((r) => {
      const open = `    <testcase classname="${xml(`${name}.${l}`)}" name="${xml(`${r.id}: ${r.title}`)}" time="${(r.durationMs / 1000).toFixed(3)}"`;
      if (r.status === 'passed') return `${open}/>`;
      if (r.status === 'skipped') return `${open}>\n      <skipped message="${xml(r.reason ?? '')}"/>\n    </testcase>`;
      return `${open}>\n      <failure message="${xml(r.reason ?? 'failed')}">${xml(`${r.reason ?? 'failed'}\n\nWhat it means: ${r.impact ?? ''}`)}</failure>\n    </testcase>`;
    });
    return `  <testsuite name="${xml(`${name} (${l} level)`)}" tests="${mine.length}" failures="${s.failed}" errors="0" skipped="${s.skipped}" time="${time.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  const all = summarise(results);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(name)}" tests="${results.length}" failures="${all.failed}" errors="0" skipped="${all.skipped}">\n${suites.join('\n')}\n</testsuites>`;
}

/** Text for a Markdown table cell: whole, on one line (never cut). */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** A Markdown compatibility table (per level), for a store's README. */
export function markdown(results: CaseResult[], store = 'this store'): string {
  const lines: string[] = [`## ${store} against the sess conformance suite`, ''];
  for (const line of levelLines(results)) lines.push(`- ${line}`);
  for (const l of LEVELS) {
    const mine = results.filter((r) => r.level === l);
    if (mine.length === 0) continue;
    lines.push('', `### ${l === 'express-session' ? 'express-session level: what express-session apps rely on' : 'sess level: what sess features need beyond it'}`, '');
    lines.push('| case | result | what a failure means for users |', '|---|---|---|');
    for (const r of mine) {
      const result = r.status === 'passed' ? 'passed' : r.status === 'skipped' ? `skipped: ${cell(r.reason ?? '')}` : `**failed**: ${cell(r.reason ?? '')}`;
      lines.push(`| \`${r.id}\`: ${cell(r.title)} | ${result} | ${r.status === 'failed' ? cell(r.impact ?? '') : ''} |`);
    }
  }
  return lines.join('\n') + '\n';
}

/** JSON: every result, the totals at the chosen level and per level. */
export function json(results: CaseResult[], level: Level = 'sess'): string {
  const byLevel = Object.fromEntries(LEVELS.map((l) => [l, summarise(results.filter((r) => r.level === l))]));
  return JSON.stringify({ level, results, ...summarise(results, level), levels: byLevel }, null, 2);
}

/** The whole report of a finished run in the given format (text: the per-level lines). */
export function report(kind: ReporterName, results: CaseResult[], level: Level = 'sess', name?: string): string {
  switch (kind) {
    case 'json':
      return json(results, level);
    case 'junit':
      return junit(results, name);
    case 'markdown':
      return markdown(results, name);
    default:
      return levelLines(results).join('\n');
  }
}
