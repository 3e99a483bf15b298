// A minimal proxy-wasm host (ABI 0.2.1) in Node's V8, the engine family Envoy embeds: loads a
// filter module, configures it, and drives each benchmark case's request through the HTTP
// callbacks the way Envoy does (headers, the body delivered in 16 KiB steps while the filter
// pauses, response headers and body, log, done). It measures the filter's own time per request
// without a proxy around it, and the module's linear memory. Each case's body goes through
// unchanged, again and again: bench.py hands it a configuration with the memory of clean strings
// off (`aegis.memo_entries: 0`), so that every request is scanned as if every text were new.
//
//   node benches/wasm-host.mjs WASM CONFIG_FILE|- CASES_JSON ITERATIONS
//
// Prints `RESULT <name>=<value>` lines (see benches/README.md): wasm_us_<case>, wasm_denied_<case>
// (requests the filter answered itself), vm_memory_bytes_idle (after configure) and
// vm_memory_bytes (after every case ran: linear memory never shrinks, so this is the peak).
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";
import { argv, exit, hrtime, stderr } from "node:process";

const [wasmPath, configPath, casesPath, itersArg] = argv.slice(2);
if (!casesPath) {
  stderr.write("usage: wasm-host.mjs WASM CONFIG_FILE|- CASES_JSON [ITERATIONS]\n");
  exit(2);
}
const iterations = Number(itersArg ?? 200);
const BODY_STEP = 16 * 1024;
const OK = 0, NOT_FOUND = 1, CAS_MISMATCH = 8;
const enc = new TextEncoder(), dec = new TextDecoder();

let ex; // the instance's exports
const bytes = () => new Uint8Array(ex.memory.buffer);
const view = () => new DataView(ex.memory.buffer);
const str = (p, n) => dec.decode(bytes().subarray(p, p + n));

// Host state for the current request.
const config = configPath === "-" ? new Uint8Array() : readFileSync(configPath);
let reqHeaders = new Map(), respHeaders = new Map(), reqBody = new Uint8Array(), respBody = new Uint8Array();
let replied = 0;
const shared = new Map();
const unimplemented = new Set();
const epochNs = BigInt(Date.now()) * 1000000n - hrtime.bigint();

/** Copy `data` into module memory (allocated by the module) and write its pointer and size. */
function give(data, ptrPtr, sizePtr) {
  if (data.length === 0) {
    view().setUint32(ptrPtr, 0, true);
    view().setUint32(sizePtr, 0, true);
    return OK;
  }
  const p = ex.proxy_on_memory_allocate(data.length);
  bytes().set(data, p);
  const v = view();
  v.setUint32(ptrPtr, p, true);
  v.setUint32(sizePtr, data.length, true);
  return OK;
}

const mapOf = (t) => (t === 0 ? reqHeaders : t === 2 ? respHeaders : new Map());

function serializeMap(map) {
  const entries = [...map].map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  const size = 4 + entries.length * 8 + entries.reduce((n, [k, v]) => n + k.length + v.length + 2, 0);
  const out = new Uint8Array(size), v = new DataView(out.buffer);
  v.setUint32(0, entries.length, true);
  let at = 4;
  for (const [k, val] of entries) { v.setUint32(at, k.length, true); v.setUint32(at + 4, val.length, true); at += 8; }
  for (const [k, val] of entries) { out.set(k, at); at += k.length + 1; out.set(val, at); at += val.length + 1; }
  return out;
}

function deserializeMap(p, n) {
  const v = view(), count = v.getUint32(p, true), map = new Map();
  let at = p + 4 + count * 8;
  for (let i = 0; i < count; i++) {
    const kl = v.getUint32(p + 4 + i * 8, true), vl = v.getUint32(p + 8 + i * 8, true);
    const k = str(at, kl); at += kl + 1;
    map.set(k, str(at, vl)); at += vl + 1;
  }
  return map;
}

const PROPERTIES = {
  "response\0code": (() => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, 200n, true); return b; })(),
  "source\0address": enc.encode("127.0.0.1:50312"),
  "plugin_name": enc.encode("authensor"),
};

const env = {
  proxy_log: (level, p, n) => { if (level >= 4) stderr.write(`[wasm log ${level}] ${str(p, n)}\n`); return OK; },
  proxy_get_current_time_nanoseconds: (p) => { view().setBigUint64(p, epochNs + hrtime.bigint(), true); return OK; },
  proxy_get_buffer_bytes: (type, start, max, pp, ps) => {
    // wasm32 passes usize as i32: usize::MAX ("all of it") arrives as -1.
    const buf = type === 0 ? reqBody : type === 1 ? respBody : type === 7 ? config : null;
    if (!buf || buf.length === 0) return NOT_FOUND;
    return give(buf.subarray(start >>> 0, (start >>> 0) + (max >>> 0)), pp, ps);
  },
  proxy_set_buffer_bytes: (type, start, size, p, n) => {
    start >>>= 0; size >>>= 0;
    const data = bytes().slice(p, p + n);
    const swap = (b) => { const out = new Uint8Array(b.length - Math.min(size, b.length - start) + n); out.set(b.subarray(0, start)); out.set(data, start); out.set(b.subarray(start + size), start + n); return out; };
    if (type === 0) reqBody = swap(reqBody); else if (type === 1) respBody = swap(respBody);
    return OK;
  },
  proxy_get_header_map_value: (t, kp, kn, pp, ps) => {
    const v = mapOf(t).get(str(kp, kn).toLowerCase());
    return v === undefined ? NOT_FOUND : give(enc.encode(v), pp, ps);
  },
  proxy_get_header_map_pairs: (t, pp, ps) => give(serializeMap(mapOf(t)), pp, ps),
  proxy_set_header_map_pairs: (t, p, n) => { const m = deserializeMap(p, n), target = mapOf(t); target.clear(); for (const [k, v] of m) target.set(k, v); return OK; },
  proxy_add_header_map_value: (t, kp, kn, vp, vn) => { mapOf(t).set(str(kp, kn).toLowerCase(), str(vp, vn)); return OK; },
  proxy_replace_header_map_value: (t, kp, kn, vp, vn) => { mapOf(t).set(str(kp, kn).toLowerCase(), str(vp, vn)); return OK; },
  proxy_remove_header_map_value: (t, kp, kn) => { mapOf(t).delete(str(kp, kn).toLowerCase()); return OK; },
  proxy_get_property: (p, n, pp, ps) => { const v = PROPERTIES[str(p, n)]; return v ? give(v, pp, ps) : NOT_FOUND; },
  proxy_send_local_response: (status) => { replied = status; return OK; },
  proxy_define_metric: (_type, _p, _n, idp) => { view().setUint32(idp, 1, true); return OK; },
  proxy_increment_metric: () => OK,
  proxy_record_metric: () => OK,
  proxy_get_metric: (_id, p) => { view().setBigUint64(p, 0n, true); return OK; },
  proxy_set_effective_context: () => OK,
  proxy_get_shared_data: (kp, kn, pp, ps, casp) => {
    const e = shared.get(str(kp, kn));
    if (!e) return NOT_FOUND;
    give(e.value, pp, ps);
    view().setUint32(casp, e.cas, true);
    return OK;
  },
  proxy_set_shared_data: (kp, kn, vp, vn, cas) => {
    const key = str(kp, kn), cur = shared.get(key);
    if (cas !== 0 && (!cur || cur.cas !== cas)) return CAS_MISMATCH;
    shared.set(key, { value: bytes().slice(vp, vp + vn), cas: (cur?.cas ?? 0) + 1 });
    return OK;
  },
};

const module = await WebAssembly.compile(readFileSync(wasmPath));
const wasi = new WASI({ version: "preview1", returnOnExit: true });
const imports = { ...wasi.getImportObject(), env: {} };
for (const { module: m, name } of WebAssembly.Module.imports(module)) {
  if (m !== "env") continue;
  imports.env[name] = env[name] ?? ((...args) => { unimplemented.add(name); return OK; });
}
const instance = await WebAssembly.instantiate(module, imports);
ex = instance.exports;
wasi.initialize(instance);

const ROOT = 1;
ex.proxy_on_context_create(ROOT, 0);
ex.proxy_on_vm_start(ROOT, 0);
if (!ex.proxy_on_configure(ROOT, config.length)) {
  stderr.write("wasm-host: the filter rejected its configuration\n");
  exit(1);
}
console.log(`RESULT vm_memory_bytes_idle=${ex.memory.buffer.byteLength}`);

let nextContext = 2;
/** One request through the filter, as Envoy delivers it. Returns the status it replied with, or 0. */
function exchange(c, body) {
  const ctx = nextContext++;
  replied = 0;
  reqHeaders = new Map([[":method", c.method], [":path", c.path], [":authority", c.host], [":scheme", "http"],
    ["user-agent", "bench-agent/1.0"], ["x-request-id", `bench-${ctx}`], ["x-forwarded-proto", "http"]]);
  for (const [k, v] of Object.entries(c.headers)) reqHeaders.set(k, v);
  if (body.length) reqHeaders.set("content-length", String(body.length));
  respHeaders = new Map([[":status", "200"], ["content-type", "application/json"], ["content-length", "347"]]);
  respBody = new Uint8Array();
  ex.proxy_on_context_create(ctx, ROOT);
  ex.proxy_on_request_headers(ctx, reqHeaders.size, body.length === 0 ? 1 : 0);
  for (let at = Math.min(BODY_STEP, body.length); body.length && !replied; at = Math.min(at + BODY_STEP, body.length)) {
    reqBody = body.subarray(0, at);
    ex.proxy_on_request_body(ctx, at, at === body.length ? 1 : 0);
    if (at === body.length) break;
  }
  if (!replied) {
    respBody = RESPONSE;
    ex.proxy_on_response_headers(ctx, respHeaders.size, 0);
    ex.proxy_on_response_body(ctx, RESPONSE.length, 1);
  }
  ex.proxy_on_log(ctx);
  ex.proxy_on_done(ctx);
  ex.proxy_on_delete(ctx);
  return replied;
}
const RESPONSE = enc.encode('{"id":"chatcmpl-bench","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The build is green."},"finish_reason":"stop"}]}');

for (const c of JSON.parse(readFileSync(casesPath, "utf8"))) {
  const body = c.body_file ? new Uint8Array(readFileSync(c.body_file)) : new Uint8Array();
  const scale = Math.max(1, Math.round(65536 / Math.max(body.length, 4096)));
  const n = Math.max(20, Math.round((iterations * scale) / Math.max(1, body.length / 65536)));
  let denied = 0;
  for (let i = 0; i < Math.min(n, 200); i++) exchange(c, body); // let V8 tier up
  const t0 = hrtime.bigint();
  for (let i = 0; i < n; i++) if (exchange(c, body)) denied++;
  const us = Number(hrtime.bigint() - t0) / 1000 / n;
  console.log(`RESULT wasm_us_${c.name}=${us.toFixed(2)}`);
  console.log(`RESULT wasm_denied_${c.name}=${denied}`);
}
console.log(`RESULT vm_memory_bytes=${ex.memory.buffer.byteLength}`);
if (unimplemented.size) stderr.write(`wasm-host: called but not implemented: ${[...unimplemented].join(", ")}\n`);
