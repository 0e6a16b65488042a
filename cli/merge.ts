// `impeller merge`: the summaries of a fleet run in shards (simulate --shard K/N --summary) judged
// as one run: one summary, one JUnit file, one HTML report and one verdict, as the unsharded run
// gives them (simulator/verdict/merge.ts recomputes the expectations from the per-pump records).

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { junitXml } from "../simulator/verdict/junit.js";
import { mergeSummaries, MergeError, type ShardSummary } from "../simulator/verdict/merge.js";
import { htmlReport } from "../simulator/verdict/report-html.js";
import { runSummary } from "../simulator/verdict/summary.js";
import { UsageError } from "./options.js";
import { makeDirectoryFor, writeReport } from "./output.js";
import { reportName } from "./simulate.js";

export async function runMerge(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ci: { type: "boolean", default: false },
      report: { type: "string" },
      junit: { type: "string" },
      summary: { type: "string" },
    },
  });
  if (positionals.length === 0) throw new UsageError("merge needs the shards' summary files (impeller simulate --shard K/N --summary FILE)");
  const { run, found, file } = mergeSummaries(positionals.map(readSummary));
  const { scenario } = run;
  const reports = path.join("reports", reportName(scenario.name, file));
  const junitPath = values.junit ?? (values.ci ? path.join(reports, "junit.xml") : undefined);
  const summaryPath = values.summary ?? (values.ci ? path.join(reports, "summary.json") : undefined);
  const reportPath = values.report ?? path.join(reports, "report.html");
  for (const output of [junitPath, summaryPath, reportPath]) if (output !== undefined) makeDirectoryFor(output);
  const lines = [`Merged ${positionals.length} shards of ${scenario.name}: seed ${scenario.seed}, ${scenario.pumps} pumps, ${scenario.days} days`];
  if (junitPath !== undefined) {
    writeReport(junitPath, junitXml({
      name: scenario.name, classname: `impeller.simulate.${reportName(scenario.name, file)}`, timeS: run.elapsedMs / 1000,
      properties: [["seed", scenario.seed], ["pumps", scenario.pumps], ["days", scenario.days], ["scenario", file]],
      results: found.expectations,
    }));
  }
  if (summaryPath !== undefined) writeReport(summaryPath, `${JSON.stringify(runSummary(run, found, { file, shard: { index: 0, count: 1 } }), null, 2)}\n`);
  writeReport(reportPath, htmlReport(run, found));
  if (values.ci) {
    for (const e of found.expectations) lines.push(`${e.passed ? "PASS" : "FAIL"}  ${e.name}${e.implicit ? " (implicit)" : ""}: ${e.detail}`);
    const failed = found.expectations.filter((e) => !e.passed).length;
    lines.push(`Verdict: ${failed === 0 ? "PASS" : "FAIL"}, ${found.expectations.length - failed} of ${found.expectations.length} expectations met`);
  }
  lines.push(...(junitPath !== undefined ? [`JUnit: ${junitPath}`] : []), ...(summaryPath !== undefined ? [`Summary: ${summaryPath}`] : []), `Report: ${reportPath}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  // Like simulate: in CI mode the expectations are the verdict; otherwise everything must have arrived intact.
  if (values.ci) return found.passed ? 0 : 1;
  return run.delivered === run.published && (run.rejected?.total ?? 0) === 0 ? 0 : 1;
}

/** A summary file read as JSON; one that is not JSON is refused by name. */
function readSummary(file: string): ShardSummary {
  const text = fs.readFileSync(file, "utf8");
  try {
    return { file, summary: JSON.parse(text) };
  } catch {
    throw new MergeError(file, "not a summary of impeller simulate (not JSON)");
  }
}
