// The pump's own analysis, in the browser: the release firmware.wasm (the bytes every pump
// runs) instantiated here with a host of a few lines, configured like the pump, fed the
// waveform the pump returned, and its telemetry pack for that window decoded. Beside it the
// spectra the page draws: the amplitude spectrum (mean removed, Hann window, zero-padded,
// scaled so a sine of amplitude A reads A, as firmware/spectrum.ts does) and the squared
// envelope spectrum of the band the pump chose for that window.

const KIND_TELEMETRY = 1;

/** Runs firmware.wasm on `samples` (Float32Array) taken at `rateHz` from `timeMs`; returns the
 *  pack it published for the window as {name: value} (texts as strings). */
export async function analyseInBrowser(samples, rateHz, timeMs, units, rpm) {
  const published = [];
  let memory;
  const storage = new Map();
  const bytes = (ptr, len) => new Uint8Array(memory.buffer, ptr, len);
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
  const { instance } = await WebAssembly.instantiateStreaming(fetch("/firmware.wasm"), { host });
  const fw = instance.exports;
  memory = fw.memory;
  const config = { device: "console", rate_hz: rateHz, window: samples.length, units };
  if (rpm !== null && rpm > 0 && rpm / 60 < rateHz / 2) config.rpm = rpm;
  const encoded = encodeMap(config);
  new Uint8Array(memory.buffer, fw.inbox_buffer(), encoded.length).set(encoded);
  const status = fw.init(encoded.length);
  if (status !== 0) throw new Error(`firmware init refused the configuration: status ${status}`);
  let at = 0;
  while (at < samples.length) {
    const room = fw.sample_capacity();
    const n = Math.min(room, samples.length - at);
    new Float32Array(memory.buffer, fw.sample_buffer(), n).set(samples.subarray(at, at + n));
    const result = fw.process(n, BigInt(Math.round(timeMs + (at * 1000) / rateHz)));
    if (result < 0) throw new Error(`firmware refused the samples: status ${result}`);
    at += n;
  }
  const pack = published.find((m) => m.kind === KIND_TELEMETRY);
  if (pack === undefined) throw new Error("the firmware published no telemetry for the window");
  return senmlValues(decodeCbor(pack.body));
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

/** A CBOR map of text keys to text and numbers (the firmware's configuration). */
function encodeMap(object) {
  const out = [];
  const head = (major, n) => {
    if (n < 24) out.push((major << 5) | n);
    else if (n < 256) out.push((major << 5) | 24, n);
    else if (n < 65536) out.push((major << 5) | 25, n >> 8, n & 255);
    else out.push((major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
  };
  const text = (s) => { const b = new TextEncoder().encode(s); head(3, b.length); out.push(...b); };
  const entries = Object.entries(object);
  head(5, entries.length);
  for (const [key, value] of entries) {
    text(key);
    if (typeof value === "string") text(value);
    else if (Number.isInteger(value) && value >= 0) head(0, value);
    else {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, value);
      out.push(0xfb, ...b);
    }
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

/** In-place radix-2 complex FFT of re/im (length a power of two); inverse when `inverse`. */
function fft(re, im, inverse) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const angle = ((inverse ? 2 : -2) * Math.PI) / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < size / 2; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = start + k;
        const b = a + size / 2;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
      }
    }
  }
}

/** Amplitude spectrum {hz: bin width, amplitudes} of `samples`. */
export function amplitudeSpectrum(samples, rateHz) {
  const n = samples.length;
  let size = 256;
  while (size < n) size <<= 1;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    re[i] = (samples[i] - mean) * w;
    sum += w;
  }
  fft(re, im, false);
  const amplitudes = new Float64Array(size / 2 + 1);
  for (let k = 0; k <= size / 2; k++) amplitudes[k] = ((k === 0 || k === size / 2 ? 1 : 2) * Math.hypot(re[k], im[k])) / sum;
  return { binHz: rateHz / size, amplitudes };
}

/** Squared envelope spectrum of `samples` band-passed to [lowHz, highHz]: the analytic signal
 *  of the band (positive bins of the band, doubled), its squared magnitude, mean removed. */
export function envelopeSpectrum(samples, rateHz, lowHz, highHz) {
  const n = samples.length;
  let size = 256;
  while (size < n) size <<= 1;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < n; i++) re[i] = samples[i];
  fft(re, im, false);
  const binHz = rateHz / size;
  for (let k = 0; k < size; k++) {
    const inBand = k <= size / 2 && k * binHz >= lowHz && k * binHz <= highHz;
    const gain = inBand ? 2 : 0;
    re[k] *= gain;
    im[k] *= gain;
  }
  fft(re, im, true);
  const envelope = new Float64Array(size);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    envelope[i] = (re[i] * re[i] + im[i] * im[i]) / (size * size);
    mean += envelope[i] / n;
  }
  for (let i = 0; i < n; i++) envelope[i] -= mean;
  return amplitudeSpectrum(envelope.subarray(0, n), rateHz);
}
