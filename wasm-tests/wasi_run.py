"""Runs a wasm32-wasip1 test binary (cargo's runner for that target) under wasmtime, the reference
WASI runtime (PyPI `wasmtime`, in the project's .venv). The binary is the core's unit tests; the
proxy-wasm adapter is not compiled into it. Exits with the test binary's status."""

import sys

from wasmtime import Engine, ExitTrap, Linker, Module, Store, Trap, WasiConfig


def main() -> int:
    path, args = sys.argv[1], sys.argv[1:]
    engine = Engine()
    linker = Linker(engine)
    linker.define_wasi()
    store = Store(engine)
    wasi = WasiConfig()
    wasi.argv = args
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    wasi.inherit_env()
    wasi.preopen_dir("/", "/")
    store.set_wasi(wasi)
    instance = linker.instantiate(store, Module.from_file(engine, path))
    try:
        instance.exports(store)["_start"](store)
    except ExitTrap as e:
        return e.code
    except Trap as e:
        # panic = abort on wasm: a failing test traps; the harness already printed which one.
        print(f"wasm test binary trapped: {e.message.splitlines()[0]}", file=sys.stderr)
        return 101
    return 0


if __name__ == "__main__":
    sys.exit(main())
