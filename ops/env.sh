# Sourced by every ops/ script: where the toolchain pieces live and how to find libtorch.
# Override any of these in the environment.
export KRONOS_CACHE="${KRONOS_CACHE:-$HOME/.cache/kronos}"
# the platform's state directory: every binary reads its settings from
# $KRONOS_HOME/kronos.env (written by ops/up) after the process environment
export KRONOS_HOME="${KRONOS_HOME:-$KRONOS_CACHE}"
export KRONOS_TORCH_VENV="${KRONOS_TORCH_VENV:-$KRONOS_CACHE/torch-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$KRONOS_CACHE/target}"
# CI builds a fresh clone once: incremental caches would only fill the disk (tens of GB
# for this workspace's test binaries)
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi
export LIBTORCH_USE_PYTORCH=1
export LIBTORCH_BYPASS_VERSION_CHECK="${LIBTORCH_BYPASS_VERSION_CHECK:-0}"
export PATH="$KRONOS_TORCH_VENV/bin:$HOME/.cargo/bin:$PATH"
if [ -d "$KRONOS_TORCH_VENV" ]; then
  _torch_lib=$(ls -d "$KRONOS_TORCH_VENV"/lib/python3*/site-packages/torch/lib 2>/dev/null | head -n 1)
  [ -n "$_torch_lib" ] && export LD_LIBRARY_PATH="$_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# glibc malloc settings for the processes that run libtorch (the worker, the CLI, our
# benchmarks): glibc hands libtorch's large buffers back to the kernel after use and
# faults them in again on the next step; keeping up to 1 GiB of freed heap made a
# Kronos-mini training step ~7 % faster and a 16-path forecast ~12 % (docs/BENCHMARKS.md,
# "Allocator settings"). Used as `env "${TORCH_MALLOC_ENV[@]}" program …`.
TORCH_MALLOC_ENV=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=67108864)
# Runs a program in the foreground with those settings (`exec` and `nohup` need the
# array itself: they cannot run a shell function).
torch_run() { env "${TORCH_MALLOC_ENV[@]}" "$@"; }
