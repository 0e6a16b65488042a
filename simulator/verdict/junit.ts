// JUnit XML for CI servers: one testsuite per scenario run, one testcase per expectation,
// a failure element with the measured figure for each expectation that failed.

import type { ExpectationResult } from "./expectations.js";

export interface JunitSuite {
  /** The scenario's name. */
  name: string;
  /** Dotted class name the CI groups the cases under, e.g. "impeller.simulate.default". */
  classname: string;
  /** Wall-clock seconds the run took. */
  timeS: number;
  /** Shown as the suite's properties (seed, pumps, days, …). */
  properties: [string, string | number][];
  results: readonly ExpectationResult[];
}

/** Characters XML 1.0 cannot carry at all, even escaped. */
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(text: string): string {
  return text.replace(XML_INVALID, "\uFFFD").replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`);
}

export function junitXml(suite: JunitSuite): string {
  const failures = suite.results.filter((r) => !r.passed).length;
  const tests = suite.results.length;
  const time = suite.timeS.toFixed(3);
  const a = escapeXml;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="impeller simulate" tests="${tests}" failures="${failures}" errors="0" time="${time}">`,
    `  <testsuite name="${a(suite.name)}" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="${time}">`,
  ];
  if (suite.properties.length > 0) {
    lines.push("    <properties>");
    for (const [name, value] of suite.properties) lines.push(`      <property name="${a(name)}" value="${a(String(value))}"/>`);
    lines.push("    </properties>");
  }
  for (const result of suite.results) {
    const open = `    <testcase classname="${a(suite.classname)}" name="${a(result.name)}" time="0"`;
    if (result.passed) {
      lines.push(`${open}>`, `      <system-out>${a(result.detail)}</system-out>`, "    </testcase>");
    } else {
      const measured = result.measured === null ? "nothing measured" : `measured ${result.measured}`;
      lines.push(`${open}>`, `      <failure message="${a(`${result.name}: ${measured}`)}" type="expectation">${a(result.detail)}</failure>`, "    </testcase>");
    }
  }
  lines.push("  </testsuite>", "</testsuites>", "");
  return lines.join("\n");
}
