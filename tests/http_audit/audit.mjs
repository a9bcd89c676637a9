// The GraphQL-over-HTTP spec's audit suite (graphql-http's serverAudits) against a running
// server.
//
//     node audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per audit, "<id>  <ok|warn|error>  <name>" (with the reason of a failure
// beneath it), then, on the last line, a JSON summary. A failed MAY audit is a warning; a
// failed MUST or SHOULD audit is an error, and so is an audit that could not run at all (no
// answer, a refused connection). Exits 1 if any MUST or SHOULD audit fails, 2 if some audit
// could not run.

import { serverAudits } from 'graphql-http';

const PER_AUDIT_TIMEOUT_MS = 10_000;

function level(name) {
  return name.split(' ', 1)[0]; // 'MUST', 'SHOULD' or 'MAY'
}

async function bodyOf(response) {
  try {
    const text = await response.text();
    return text.length > 300 ? `${text.slice(0, 300)}...` : text;
  } catch {
    return '(body already read)';
  }
}

async function runOne(audit) {
  const timeout = new Promise((resolve) =>
    setTimeout(
      () => resolve({ status: 'fatal', reason: `no answer in ${PER_AUDIT_TIMEOUT_MS} ms` }),
      PER_AUDIT_TIMEOUT_MS,
    ).unref(),
  );
  try {
    const result = await Promise.race([audit.fn(), timeout]);
    if (result.status === 'ok' || result.status === 'fatal') return result;
    const response = result.response;
    const detail = response ? ` (status ${response.status}: ${await bodyOf(response)})` : '';
    return { status: result.status, reason: `${result.reason}${detail}` };
  } catch (error) {
    // graphql-http throws (rather than failing the audit) when something is fatal, e.g. a
    // refused connection.
    return { status: 'fatal', reason: String(error?.cause ?? error) };
  }
}

async function main() {
  const url = process.argv[2];
  if (!url) {
    console.error('usage: node audit.mjs <GraphQL endpoint URL>');
    return 2;
  }
  const results = [];
  // One at a time: the output is in the suite's order and the server sees no burst.
  for (const audit of serverAudits({ url, fetchFn: fetch })) {
    const { status, reason } = await runOne(audit);
    const requirement = level(audit.name);
    const verdict =
      status === 'ok' ? 'ok' : requirement === 'MAY' && status !== 'fatal' ? 'warn' : 'error';
    results.push({ id: audit.id, name: audit.name, requirement, verdict, fatal: status === 'fatal', reason });
    console.log(`${audit.id}  ${verdict.padEnd(5)}  ${audit.name}`);
    if (reason) console.log(`      ${reason}`);
  }
  const failed = (requirement) =>
    results.filter((r) => r.requirement === requirement && r.verdict !== 'ok').map((r) => r.id);
  const summary = {
    url,
    total: results.length,
    ok: results.filter((r) => r.verdict === 'ok').length,
    warn: results.filter((r) => r.verdict === 'warn').length,
    error: results.filter((r) => r.verdict === 'error').length,
    fatal: results.filter((r) => r.fatal).length,
    failed: { MUST: failed('MUST'), SHOULD: failed('SHOULD'), MAY: failed('MAY') },
    results: results.map(({ id, requirement, verdict, reason }) => ({ id, requirement, verdict, reason })),
  };
  console.log(JSON.stringify(summary));
  if (summary.fatal > 0) return 2;
  return summary.error > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 2;
  },
);
