// An OTA campaign over a simulated fleet: every pump the real firmware and update agent over
// an emulated flash, the campaign (operator/campaign.ts) offering v0.2.0 in waves 1 % → 10 %
// → 100 % through the embedded broker, with a share of pumps losing power at a random flash
// operation of their update. Prints the campaign's duration (and per wave), the bytes on the
// wire against the image's size, and the outcome.
// Run: npx tsx bench/campaign.bench.ts [--pumps 1000] [--power-loss 0.05] [--image v0.2.0] [--workers N] [--block-loss 0]

import { parseArgs } from "node:util";
import { simulate } from "../simulator/fleet/fleet.js";
import { parseScenario } from "../simulator/scenario/scenario.js";

const { values } = parseArgs({
  options: {
    pumps: { type: "string", default: "1000" }, "power-loss": { type: "string", default: "0.05" }, image: { type: "string", default: "v0.2.0" },
    workers: { type: "string" }, "wave-timeout": { type: "string", default: "600" }, "block-loss": { type: "string", default: "0" }, seed: { type: "string", default: "7" },
  },
});
const pumps = Number(values.pumps);
const scenario = parseScenario({
  name: "campaign bench", seed: Number(values.seed), tenant: "bench", start: "2026-03-01T00:00:00Z", days: 600 / 86_400, pumps,
  interval_s: 600, sample_rate_hz: 1000, window: 256,
  pump: { rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03] },
  campaigns: [{
    name: "bench", start_day: 0, image: values.image, waves: [0.01, 0.1, 1], success_threshold: 0.9, error_threshold: 0.2, on_error: "abort",
    power_loss_share: Number(values["power-loss"]), block_loss_share: Number(values["block-loss"]), wave_timeout_s: Number(values["wave-timeout"]),
  }],
});

let last = 0;
const started = performance.now();
let connectedMs = 0;
let logged = 0;
const result = await simulate(scenario, {
  workers: values.workers !== undefined ? Number(values.workers) : undefined,
  onConnected: () => {
    connectedMs = performance.now() - started;
  },
  log: (device, level, text) => {
    if (level < 3) return;
    logged += 1;
    if (logged <= 5) console.error(`  ${device}: ${text}`);
  },
  onCampaign: (line) => {
    const now = performance.now();
    if (now - last < 2000 && !/completed|aborted|cancelled|paused/.test(line)) return;
    last = now;
    console.log(`  ${((now - started) / 1000).toFixed(1).padStart(6)} s  ${line}`);
  },
});
const [report] = result.campaigns;
const b = report.bytes;
const reached = report.devices.filter((d) => d.offers > 0).length;
console.log(`campaign bench: ${pumps} pumps, ${result.workers} worker thread(s), node ${process.version}; fleet booted and connected in ${(connectedMs / 1000).toFixed(1)} s`);
console.log(`outcome: ${report.state}${report.reason !== null ? ` (${report.reason})` : ""}, wave ${report.maxWave} of 3; ` +
  Object.entries(report.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", "));
console.log(`power: ${result.powerCuts} pumps lost power mid-update (${(100 * result.powerCuts / pumps).toFixed(1)} %) and were powered on again from their flash`);
console.log(`duration: ${(report.durationMs / 1000).toFixed(1)} s wall from the first offer to the last report`);
for (const w of report.waves) {
  console.log(`  wave ${w.wave} (${(w.share * 100).toFixed(0)} %): ${w.devices} devices, ${w.confirmed} confirmed, ${w.errors} errors, ` +
    `${(((w.endedMs ?? report.durationMs) - w.startedMs) / 1000).toFixed(1)} s`);
}
const perDevice = reached > 0 ? b.total / reached : 0;
console.log(`bytes: image ${b.image}, envelope ${b.envelope}; down: offers ${b.offers} + block commands ${b.blockCommands} (image data ${b.blockData}); ` +
  `up: requests and statuses ${b.uplink}; total ${b.total} = ${(b.total / 1e6).toFixed(2)} MB for ${reached} devices`);
console.log(`  per device ${perDevice.toFixed(0)} bytes = ${b.perDevicePerImage.toFixed(3)} × the image (MQTT headers not counted: payloads only); ` +
  `image data sent ${(b.blockData / (b.image * reached)).toFixed(3)} × (image × devices): resumed downloads after power loss re-send at most a sector`);
for (const d of report.devices.filter((d) => d.outcome === "reverted" || d.outcome === "rejected" || d.outcome === "failed").slice(0, 5)) {
  console.log(`  ${d.outcome}: ${d.device}: ${d.history.map((h) => h.state).join(" → ")}: ${[...d.history].reverse().find((h) => h.reason !== undefined)?.reason ?? ""}`);
}
for (const d of report.devices.filter((d) => d.outcome === "timeout").slice(0, 5)) {
  console.log(`  timed out: ${d.device}: ${d.history.map((h) => `${h.atMs} ${h.state}${h.progress !== undefined ? ` ${h.progress}` : ""}`).join(", ")}`);
}
if (logged > 0) console.log(`${logged} errors logged by the devices (the first 5 above)`);
console.log(`delivery: ${result.delivered} of ${result.published} messages decoded by the collector, ${result.duplicates} duplicates; run ${(result.elapsedMs / 1000).toFixed(1)} s in all`);
