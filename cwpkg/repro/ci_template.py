"""`cwpkg ci-template github`: a CI workflow that rebuilds the locked sysroot and proves it.

The job runs in Debian bookworm, the system whose clang-19 the committed lock names, so that build
identities match. It restores downloaded sources and a directory binary cache (or uses the team's
remote one: repository variable CWPKG_BINARY_CACHE and secret CWPKG_BINARY_CACHE_TOKEN), builds
`--locked`, verifies every file, runs every recipe's test program under wasmtime, publishes what it
built to the binary cache, and uploads the deterministic bundle with its checksum.
"""

from __future__ import annotations

GITHUB_WORKFLOW = """\
# Written by `cwpkg ci-template github`. Rebuilds the wasm32-wasi sysroot exactly as cwpkg.lock
# records (from the binary cache where it holds the packages), verifies it, runs every recipe's test
# program under wasmtime, and uploads the bundle. Update the lock with `cwpkg lock --all`.
name: wasm32-wasi sysroot

on:
  push:
  pull_request:
  workflow_dispatch:

jobs:
  sysroot:
    runs-on: ubuntu-latest
    container: debian:bookworm  # the toolchain (clang-19 from bookworm) that cwpkg.lock was made with
    env:
      CWPKG_CACHE: ${{ github.workspace }}/.cwpkg/sources
      CWPKG_BINARY_CACHE: ${{ vars.CWPKG_BINARY_CACHE || format('{0}/.cwpkg/binary-cache', github.workspace) }}
      CWPKG_BINARY_CACHE_TOKEN: ${{ secrets.CWPKG_BINARY_CACHE_TOKEN }}
    steps:
      - name: Tools the checkout needs
        run: apt-get update -qq && apt-get install -y -qq git ca-certificates
      - uses: actions/checkout@v4
      - name: Downloaded sources and built packages from earlier runs
        uses: actions/cache@v4
        with:
          path: .cwpkg
          key: cwpkg-${{ hashFiles('cwpkg.lock') }}
          restore-keys: cwpkg-
      - name: Toolchain and cwpkg
        run: bash scripts/setup.sh
      - name: Build the locked sysroot
        run: .venv/bin/cwpkg install --locked
      - name: Every installed file against its manifest and the lock
        run: .venv/bin/cwpkg verify
      - name: Every recipe's test program under wasmtime
        run: .venv/bin/cwpkg check
      - name: Publish built packages to the binary cache
        if: github.event_name != 'pull_request'
        run: .venv/bin/cwpkg cache push
      - name: Bundle
        run: .venv/bin/cwpkg bundle -o wasm32-wasi-sysroot.tar.gz | tee wasm32-wasi-sysroot.tar.gz.sha256
      - uses: actions/upload-artifact@v4
        with:
          name: wasm32-wasi-sysroot
          path: |
            wasm32-wasi-sysroot.tar.gz
            wasm32-wasi-sysroot.tar.gz.sha256
"""

TEMPLATES = {"github": (".github/workflows/wasm32-wasi-sysroot.yml", GITHUB_WORKFLOW)}
