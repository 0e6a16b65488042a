// The HTML report's style sheet, inline in every report (it fetches nothing).

export const STYLE = `
:root { --fg: #1d2329; --dim: #66707a; --line: #dde2e6; --pass: #1e7b34; --fail: #b3261e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0 auto; padding: 20px 28px 40px; max-width: 1400px; background: #fafbfc; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 4px; } .dim { color: var(--dim); font-weight: normal; } .meta { color: var(--dim); margin: 0 0 10px; }
.verdict { display: inline-block; font-weight: 600; padding: 6px 12px; border-radius: 4px; color: #fff; margin: 0; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; margin-top: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .title { color: var(--dim); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 600; } .card .note { color: var(--dim); font-size: 12px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; font-size: 13px; } .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.pass .mark { color: var(--pass); } tr.fail .mark { color: var(--fail); } tr.fail td { background: #fdf0ef; }
tr.status-missed td, tr.status-late td { background: #fdf0ef; } tr.status-developing td, tr.status-not_started td { color: var(--dim); }
.mark { font-weight: 700; width: 1.5em; } code { font-size: 13px; } .bad { color: var(--fail); font-weight: 600; } .fate-failed { color: var(--fail); } .fate-avoided { color: var(--pass); }
a { color: #1f5fa8; text-decoration: none; } a:hover { text-decoration: underline; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 2px; vertical-align: baseline; border: 1px solid rgba(0,0,0,.15); }
.legend { font-size: 13px; }
.m { display: inline-block; font-size: 11px; font-weight: 700; padding: 0 4px; border-radius: 3px; color: #fff; }
.m.onset { background: #e08a00; } .m.failure { background: #b3261e; } .m.detect { background: #1e7b34; }
.pumps { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 14px; }
.pump { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.pump.healthy, .pump.healthy.false-alarm { border-style: dashed; }
.faults { margin: 0 0 6px; font-size: 13px; min-height: 2.9em; }
svg { display: block; width: 100%; height: auto; font-family: system-ui, sans-serif; }
svg.fleet { max-width: 1200px; min-width: 640px; } svg.fleet .tick { font-size: 8.5px; } svg.fleet .m-failure { stroke: #111; stroke-dasharray: none; }
.scroll { overflow-x: auto; } td:first-child a { white-space: nowrap; }
svg .panel { fill: #fcfcfd; stroke: #c9d0d6; stroke-width: .6; } svg .frame { fill: none; stroke: #c9d0d6; stroke-width: .6; } svg .grid { stroke: #eceff1; stroke-width: .6; }
svg .line { fill: none; stroke-width: 1.1; stroke-linejoin: round; } svg .tick { font-size: 9px; fill: var(--dim); }
svg .ptitle { font-size: 10px; fill: var(--fg); font-weight: 600; } svg .axis { stroke: #9aa3ab; stroke-width: .6; }
svg .mlabel { font-size: 9px; font-weight: 700; }
svg .m-onset { stroke: #e08a00; stroke-width: 1.2; stroke-dasharray: 4 3; } svg .m-onset-t { fill: #e08a00; stroke: none; }
svg .m-failure { stroke: #b3261e; stroke-width: 1.4; } svg .m-failure-t { fill: #b3261e; stroke: none; }
svg .m-detect { stroke: #1e7b34; stroke-width: 1.2; stroke-dasharray: 1.5 2; } svg .m-detect-t { fill: #1e7b34; stroke: none; }
footer { margin-top: 30px; color: var(--dim); font-size: 12px; }
`;
