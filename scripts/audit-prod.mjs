#!/usr/bin/env node
// `npm audit --omit=dev`, failing on any high or critical advisory that docs/it-deployment.md does not
// explain. Exceptions are rows of the "Reviewed advisories" table there: | GHSA-… | package | why |.
// Exit codes: 0 clean (or all explained), 1 unexplained high/critical, 3 the audit service was unreachable.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** GHSA ids explained in the IT guide's "Reviewed advisories" table. */
export function explainedAdvisories(markdown) {
  const ids = new Set();
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Reviewed advisories')) ?? '';
  for (const m of section.matchAll(/^\|\s*(GHSA-[\w-]+)\s*\|/gm)) ids.add(m[1]);
  return ids;
}

/** High/critical findings of an `npm audit --json` report: one entry per advisory and package. */
export function seriousFindings(report) {
  const out = [];
  for (const [name, vuln] of Object.entries(report.vulnerabilities ?? {})) {
    for (const via of vuln.via ?? []) {
      if (typeof via !== 'object') continue; // a transitive pointer; the advisory is listed on its own package
      if (via.severity !== 'high' && via.severity !== 'critical') continue;
      const id = /GHSA-[\w-]+/.exec(via.url ?? '')?.[0] ?? `advisory-${via.source}`;
      out.push({ id, package: name, severity: via.severity, title: via.title, range: via.range });
    }
  }
  return out;
}

/** How long the audit service gets to answer: an unreachable service is reported, never waited on. */
export const AUDIT_TIMEOUT_MS = 60_000;

export function runAudit(timeoutMs = AUDIT_TIMEOUT_MS) {
  const result = spawnSync('npm', ['audit', '--omit=dev', '--json', `--fetch-timeout=${timeoutMs}`, '--fetch-retries=0'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' });
  if (result.error?.code === 'ETIMEDOUT') return { reachable: false, reason: `npm audit gave no answer within ${timeoutMs / 1000} s` };
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    return { reachable: false, reason: (result.stderr || result.stdout || 'no output').trim().split('\n')[0] };
  }
  if (report.error || report.message) return { reachable: false, reason: report.message ?? report.error?.summary ?? 'audit error' };
  return { reachable: true, report };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const audit = runAudit();
  if (!audit.reachable) {
    console.error(`audit-prod: the npm audit service could not be reached (${audit.reason}).`);
    process.exit(3);
  }
  const explained = explainedAdvisories(readFileSync(path.join(root, 'docs', 'it-deployment.md'), 'utf8'));
  const findings = seriousFindings(audit.report);
  const unexplained = findings.filter((f) => !explained.has(f.id));
  for (const f of findings) console.log(`${explained.has(f.id) ? 'explained  ' : 'UNEXPLAINED'} ${f.severity.padEnd(8)} ${f.id} ${f.package} ${f.range ?? ''} ${f.title ?? ''}`);
  console.log(`audit-prod: ${findings.length} high/critical in production dependencies, ${unexplained.length} unexplained.`);
  process.exit(unexplained.length ? 1 : 0);
}
