#!/bin/sh
# Regenerates the shipped price files: regen.sh GEN_PRICES OUTDIR
# (GEN_PRICES: the built examples/data/gen/gen_prices.c).  The test
# replay_data_generated runs it into a scratch folder and compares.
set -eu
gen=$1
out=$2
"$gen" BTCUSDT 64250 0.1 20261137 7 > "$out/BTCUSDT.csv"
"$gen" ETHUSDT 3420 0.01 20261230 7 > "$out/ETHUSDT.csv"
