#!/usr/bin/env bash
# The CUDA checks, in one run on a machine with a CUDA GPU: the tests that need a GPU,
# the whole suite with a GPU present, and the GPU rows of the benchmarks.
#
# Usage: [WHAT="tests grid blackbox multistart profile suite"] \
#            bash examples/benchmarks/cuda_check.sh [OUTDIR]
# Each step has a time limit in seconds (TESTS_S, GRID_S, BLACKBOX_S, MULTISTART_S,
# PROFILE_S); TESTS_K selects tests (pytest -k), ITERATIONS the multistart iterations.
#
# Wheels of packages missing on that machine may lie in .whl/ (installed to /tmp/site).
# Each log is written to OUTDIR (default: cuda-logs/); the last lines printed are the
# benchmark tables.
set -u
out=${1:-cuda-logs}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 CI=true
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $out/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*"
    local begin=$SECONDS
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    echo "== $name: exit $? in $((SECONDS - begin)) s"
}
what=${WHAT:-tests grid blackbox multistart suite}  # the steps to run
has() { [[ " $what " == *" $1 "* ]]; }
if has tests; then
    step cuda_tests "${TESTS_S:-120}" python3 -m pytest -q -p no:cacheprovider -m cuda -rfEs tests \
        -k "${TESTS_K:-}"
    tail -n 25 "$out/cuda_tests.log"
fi
has grid && step grid "${GRID_S:-120}" python3 examples/benchmarks/grid_gradient.py --device cuda --repeat 9
has blackbox && step blackbox "${BLACKBOX_S:-90}" python3 examples/benchmarks/blackbox_gradient.py --device cuda
has profile && step profile "${PROFILE_S:-60}" python3 examples/benchmarks/cuda_profile.py
has multistart && step multistart "${MULTISTART_S:-90}" python3 examples/benchmarks/multistart.py \
    --latency 0 --iterations "${ITERATIONS:-10}"
if has suite; then
    step suite 150 python3 -m pytest -q -p no:cacheprovider --maxfail=30 tests \
        --ignore=tests/test_benchmarks_smoke.py
    tail -n 30 "$out/suite.log"
fi
for name in profile grid blackbox multistart; do
    [[ -f "$out/$name.log" ]] || continue
    echo "===== $name"
    tail -n 60 "$out/$name.log"
done
