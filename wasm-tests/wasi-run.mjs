// Runs a wasm32-wasip1 test binary (cargo's runner for that target) under Node's WASI.
// Proxy-wasm host functions the binary imports are stubbed to throw: core tests never call them.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, env, exit } from "node:process";

const [file, ...args] = argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [file, ...args], env, preopens: { "/": "/" }, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const imports = wasi.getImportObject();
for (const { module: name, name: field } of WebAssembly.Module.imports(module)) {
  if (name in imports && name !== "env") continue;
  imports[name] ??= {};
  imports[name][field] = () => { throw new Error(`host function ${name}.${field} called in a core test`); };
}
const instance = await WebAssembly.instantiate(module, imports);
// The binary also exports proxy-wasm's `_initialize`; a command module may only expose `_start`.
const { memory, _start } = instance.exports;
try {
  exit(wasi.start({ exports: { memory, _start } }));
} catch (e) {
  // panic = abort on wasm: a failing test traps; the harness already printed which one.
  console.error(`wasm test binary trapped: ${e.message}`);
  exit(101);
}
