// The pump's own analysis, in the browser: the release firmware.wasm (the bytes every pump
// runs) instantiated here with a host of a few lines, configured like the pump as far as the
// console knows it, fed the waveform the pump returned: its telemetry pack for that window, and
// the spectra the firmware gives of it (its `spectrum` export, firmware/ABI.md "Spectra"): the
// window's power spectrum as the analysis computed it, and the squared-envelope spectrum of the
// band the pump's diagnosis used. The page computes no spectrum of its own.

const KIND_TELEMETRY = 1;
const SPECTRUM_POWER = 0;
const SPECTRUM_ENVELOPE = 1;
/** A stand-in bearing (a 6205's): the console does not know the pump's geometry, and the
 *  firmware envelopes only with one. Over a fixed band the envelope spectrum does not depend on
 *  it: the band's bins of the window's FFT, at baseband, squared, transformed again. */
const STAND_IN_BEARING = [9, 7.94, 39.04, 0];

let compiled;

/** Runs firmware.wasm on `samples` (Float32Array) taken at `rateHz` from `timeMs`, the pump
 *  having measured `rpm` (null: unknown) and enveloped [low, high] Hz (`band`, null: none).
 *  Returns the window's figures (its pack as {name: value}), its power spectrum and, with a
 *  band, the envelope spectrum of that band ({binHz, values}, or {status} when the firmware
 *  had none), and the configurations they were computed under. */
export async function analyseInBrowser(samples, rateHz, timeMs, units, rpm, band) {
  compiled ??= WebAssembly.compileStreaming(fetch("/firmware.wasm"));
  const config = { device: "console", rate_hz: rateHz, window: samples.length, units };
  if (rpm !== null && rpm > 0 && rpm / 60 < rateHz / 2) config.rpm = rpm;
  const figures = await runWindow(await compiled, config, samples, timeMs);
  const result = { figures: figures.values, power: figures.spectrum(SPECTRUM_POWER), envelope: null, configs: { figures: config, envelope: null } };
  if (band !== null && band[1] > band[0]) {
    const banded = { ...config, bearing: STAND_IN_BEARING, band_hz: band };
    result.envelope = (await runWindow(await compiled, banded, samples, timeMs)).spectrum(SPECTRUM_ENVELOPE);
    result.configs.envelope = banded;
  }
  return result;
}

/** One instance of `module` under `config`, fed `samples` as one window: its telemetry pack as
 *  {name: value}, and spectrum(kind): {binHz, values} or {status} (a negative status). */
async function runWindow(module, config, samples, timeMs) {
  const published = [];
  let memory;
  const bytes = (ptr, len) => new Uint8Array(memory.buffer, ptr, len);
  const storage = new Map();
  const host = {
    clock_ms: () => BigInt(Math.round(performance.now())),
    log: () => {},
    panic: (ptr, len) => { throw new Error(`firmware panic: ${new TextDecoder().decode(bytes(ptr, len))}`); },
    publish: (kind, ptr, len) => { published.push({ kind, body: bytes(ptr, len).slice() }); return 0; },
    storage_read: (key, ptr, capacity) => {
      const record = storage.get(key);
      if (record === undefined) return -1;
      if (record.length > capacity) return -2;
      bytes(ptr, record.length).set(record);
      return record.length;
    },
    storage_write: (key, ptr, len) => { storage.set(key, bytes(ptr, len).slice()); return 0; },
  };
  const fw = (await WebAssembly.instantiate(module, { host })).exports;
  memory = fw.memory;
  if (typeof fw.spectrum !== "function") throw new Error("this firmware.wasm predates the spectrum export: it gives no spectra");
  const encoded = encodeMap(config);
  new Uint8Array(memory.buffer, fw.inbox_buffer(), encoded.length).set(encoded);
  const status = fw.init(encoded.length);
  if (status !== 0) throw new Error(`firmware init refused the configuration: status ${status}`);
  let at = 0;
  while (at < samples.length) {
    const n = Math.min(fw.sample_capacity(), samples.length - at);
    new Float32Array(memory.buffer, fw.sample_buffer(), n).set(samples.subarray(at, at + n));
    const result = fw.process(n, BigInt(Math.round(timeMs + (at * 1000) / config.rate_hz)));
    if (result < 0) throw new Error(`firmware refused the samples: status ${result}`);
    at += n;
  }
  const pack = published.find((m) => m.kind === KIND_TELEMETRY);
  if (pack === undefined) throw new Error("the firmware published no telemetry for the window");
  return { values: senmlValues(decodeCbor(pack.body)), spectrum: (kind) => spectrumOf(fw, kind) };
}

/** Spectrum `kind` of the window `fw` analysed last, into memory it does not use (the larger of
 *  the free part of its sample buffer and its inbox): {binHz, values}, or {status}. */
function spectrumOf(fw, kind) {
  const samples = fw.sample_capacity();
  const inbox = fw.inbox_capacity() >> 2;
  const ptr = samples >= inbox ? fw.sample_buffer() : fw.inbox_buffer();
  const count = fw.spectrum(kind, ptr, Math.max(samples, inbox));
  if (count < 0) return { status: count };
  return { binHz: fw.spectrum_bin_hz(), values: new Float32Array(fw.memory.buffer, ptr, count).slice() };
}

/** A SenML pack's records as {name without base name: value or text}. */
function senmlValues(records) {
  const values = {};
  for (const record of records) {
    const name = record.get(0);
    if (name === undefined) continue;
    if (record.has(2)) values[name] = record.get(2);
    else if (record.has(3)) values[name] = record.get(3);
  }
  return values;
}

/** A CBOR map of text keys to texts, numbers and arrays of numbers (the firmware's
 *  configuration). */
function encodeMap(object) {
  const out = [];
  const head = (major, n) => {
    if (n < 24) out.push((major << 5) | n);
    else if (n < 256) out.push((major << 5) | 24, n);
    else if (n < 65536) out.push((major << 5) | 25, n >> 8, n & 255);
    else out.push((major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
  };
  const text = (s) => { const b = new TextEncoder().encode(s); head(3, b.length); out.push(...b); };
  const value = (v) => {
    if (typeof v === "string") text(v);
    else if (Array.isArray(v)) { head(4, v.length); v.forEach(value); }
    else if (Number.isInteger(v) && v >= 0) head(0, v);
    else {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v);
      out.push(0xfb, ...b);
    }
  };
  const entries = Object.entries(object);
  head(5, entries.length);
  for (const [key, v] of entries) {
    text(key);
    value(v);
  }
  return new Uint8Array(out);
}

/** Decodes one CBOR item (RFC 8949): what a SenML pack uses. */
export function decodeCbor(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const length = (info) => {
    if (info < 24) return info;
    if (info === 24) return view.getUint8(at++);
    if (info === 25) { at += 2; return view.getUint16(at - 2); }
    if (info === 26) { at += 4; return view.getUint32(at - 4); }
    if (info === 27) { at += 8; return Number(view.getBigUint64(at - 8)); }
    throw new Error(`CBOR: indefinite or reserved length ${info}`);
  };
  const item = () => {
    const initial = view.getUint8(at++);
    const major = initial >> 5;
    const info = initial & 31;
    if (major === 7) return simple(info);
    const n = length(info);
    if (major === 0) return n;
    if (major === 1) return -1 - n;
    if (major === 2) { at += n; return bytes.slice(at - n, at); }
    if (major === 3) { at += n; return new TextDecoder().decode(bytes.subarray(at - n, at)); }
    if (major === 4) return Array.from({ length: n }, item);
    if (major === 5) { const map = new Map(); for (let i = 0; i < n; i++) map.set(item(), item()); return map; }
    return item(); // a tag: its content
  };
  const simple = (info) => {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22 || info === 23) return null;
    if (info === 25) { at += 2; return half(view.getUint16(at - 2)); }
    if (info === 26) { at += 4; return view.getFloat32(at - 4); }
    if (info === 27) { at += 8; return view.getFloat64(at - 8); }
    throw new Error(`CBOR: simple value ${info}`);
  };
  return item();
}

function half(h) {
  const exponent = (h >> 10) & 31;
  const mantissa = h & 1023;
  const sign = h & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
