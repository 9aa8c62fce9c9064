#!/usr/bin/env python3
"""Checks that wasm-bindgen's `__wbindgen_externrefs` export of a wasm module is a table of
externref, as wasm-bindgen's JS glue expects (it stores JS values in it with Table.set).
Debian's wasm-opt 108 re-points the export at the function table (index 0) even when it runs no
pass, and the page then fails with "WebAssembly.Table.set(): Argument 1 is invalid".
Usage: externref-table.py MODULE.wasm; exit 0 when the export is right, 1 otherwise.
externref-table.py --self-test: the check tells a right module from a broken one."""
import sys

EXTERNREF = 0x6F


def leb(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def name(data, i):
    n, i = leb(data, i)
    return data[i : i + n].decode(), i + n


def limits(data, i):
    flags = data[i]
    _, i = leb(data, i + 1)
    if flags & 1:
        _, i = leb(data, i)
    return i


def tables_and_exports(data):
    """Element types of the module's tables (imported first, in index order) and its table exports."""
    if data[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    tables, exports, i = [], {}, 8
    while i < len(data):
        section = data[i]
        size, i = leb(data, i + 1)
        body, i = data[i : i + size], i + size
        if section == 2:  # imports
            count, j = leb(body, 0)
            for _ in range(count):
                _, j = name(body, j)
                _, j = name(body, j)
                kind, j = body[j], j + 1
                if kind == 0:  # function
                    _, j = leb(body, j)
                elif kind == 1:  # table
                    tables.append(body[j])
                    j = limits(body, j + 1)
                elif kind == 2:  # memory
                    j = limits(body, j)
                elif kind == 3:  # global
                    j += 2
                else:
                    raise ValueError(f"import kind {kind} unknown")
        elif section == 4:  # tables
            count, j = leb(body, 0)
            for _ in range(count):
                tables.append(body[j])
                j = limits(body, j + 1)
        elif section == 7:  # exports
            count, j = leb(body, 0)
            for _ in range(count):
                export, j = name(body, j)
                kind, j = body[j], j + 1
                index, j = leb(body, j)
                if kind == 1:
                    exports[export] = index
    return tables, exports


def main(path):
    tables, exports = tables_and_exports(open(path, "rb").read())
    index = exports.get("__wbindgen_externrefs")
    if index is None:
        print(f"{path}: no __wbindgen_externrefs table export", file=sys.stderr)
        return 1
    if index >= len(tables) or tables[index] != EXTERNREF:
        kind = hex(tables[index]) if index < len(tables) else "missing"
        print(f"{path}: __wbindgen_externrefs exports table {index} ({kind}), not an externref table",
              file=sys.stderr)
        return 1
    return 0


def module(export_index):
    """A module with a funcref table (0) and an externref table (1), exporting one of them as
    `__wbindgen_externrefs`: the shape of wasm-bindgen's output, before and after the bug."""
    section = lambda id, body: bytes([id, len(body)]) + body
    tables = section(4, bytes([2, 0x70, 0, 0, EXTERNREF, 0, 0]))
    name = b"__wbindgen_externrefs"
    exports = section(7, bytes([1, len(name)]) + name + bytes([1, export_index]))
    return b"\0asm" + bytes([1, 0, 0, 0]) + tables + exports


def self_test():
    import os, tempfile
    results = []
    for index in (1, 0):
        with tempfile.NamedTemporaryFile(suffix=".wasm", delete=False) as f:
            f.write(module(index))
        try:
            results.append(main(f.name))
        finally:
            os.unlink(f.name)
    if results != [0, 1]:
        print(f"externref-table: self-test failed: {results}, expected [0, 1]", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(self_test() if sys.argv[1] == "--self-test" else main(sys.argv[1]))
