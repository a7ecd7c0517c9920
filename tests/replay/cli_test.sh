#!/bin/sh
# The replay subcommand end to end: cli_test.sh CASE S6_POSITION SOURCE_DIR
#   handworked   the worked example of docs/replay.md, line by line
#   determinism  the shipped example twice (Lua, then native): same bytes
#   report       the HTML report draws in headless Chromium, no errors
#   badfile      a bad price file: exit 1, the file, the line, the reason
#   progress     a progress bar on a terminal (script(1) gives one), none
#                when stderr is a file
set -eu
case_=$1
bin=$2
src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
data=examples/data
demo="$data/BTCUSDT.csv $data/ETHUSDT.csv --positions examples/positions/demo.json"

case $case_ in
handworked)
    "$bin" replay $data/handworked/BTCUSDT.csv \
        --positions examples/positions/handworked.json \
        --config $data/handworked/config.json > "$tmp/out" 2> "$tmp/err"
    # The actions the spec defines (the engine's bookkeeping lines, such as
    # STOP_REQUESTED, are left out), without the rule column; then the PnL.
    grep -E '^[0-9T:.Z-]+ +hw-long +BTCUSDT +(FILL|POSITION_OPENED|STOP_CONFIRMED|ADD_SENT|STOP_MOVED|POSITION_CLOSED) ' \
        "$tmp/out" | sed -e 's/  [^ ]*$//' > "$tmp/got"
    grep -E '^hw-long ' "$tmp/out" >> "$tmp/got"
    diff -u $data/handworked/expected.txt "$tmp/got"
    ;;
determinism)
    for mode in "" --native; do
        "$bin" replay $demo $mode > "$tmp/a" 2> /dev/null
        "$bin" replay $demo $mode > "$tmp/b" 2> /dev/null
        cmp "$tmp/a" "$tmp/b"
        grep -q ' STOP_MOVED ' "$tmp/a"   # a timeline worth comparing
    done
    ;;
report)
    "$bin" replay $demo --quiet --report "$tmp/r.html" > /dev/null 2>&1
    grep -q '<script>' "$tmp/r.html"
    if grep -Eq "(src|href)=[\"']?(https?:)?//" "$tmp/r.html"; then
        echo "the report loads something from elsewhere" >&2
        exit 1
    fi
    timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$tmp/profile" --virtual-time-budget=10000 \
        --dump-dom "file://$tmp/r.html" > "$tmp/dom" 2> "$tmp/chromium.log"
    status=$(sed -n 's/.*<body data-check="\([^"]*\)".*/\1/p' "$tmp/dom")
    echo "report status: $status"
    [ "$status" = "ok charts=2 drawn=2" ]
    # no check line in front of the reader; the summary table above the
    # charts, a row per position, money to the cent
    if grep -q 'charts=2 drawn=2</' "$tmp/dom"; then
        echo "the self-check shows on the page" >&2
        exit 1
    fi
    grep -q '<table id="summary">' "$tmp/r.html"
    [ "$(grep -c '^<tr><td class="l">demo-' "$tmp/r.html")" -eq 2 ]
    grep -Eq '^<tr><td class="l">demo-[^<]*</td><td class="l">[A-Z]+</td><td class="l">(LONG|SHORT)</td>(<td>-?[0-9]+\.[0-9]{2}</td>){4}(<td>[0-9]+</td>){3}<td class="l">(open|stopped|closed)</td></tr>$' "$tmp/r.html"
    summary=$(grep -n '<table id="summary">' "$tmp/r.html" | cut -d: -f1)
    charts=$(grep -n '<div id="charts">' "$tmp/r.html" | cut -d: -f1)
    [ "$summary" -lt "$charts" ]
    ;;
badfile)
    printf 'time,open,high,low,close\n100,10,11,9,10\n160,10,11,9,NaN\n' \
        > "$tmp/BTCUSDT.csv"
    rc=0
    "$bin" replay "$tmp/BTCUSDT.csv" --positions examples/positions/demo.json \
        > /dev/null 2> "$tmp/err" || rc=$?
    cat "$tmp/err"
    [ "$rc" -eq 1 ]
    grep -qx "s6-position replay: BTCUSDT.csv:3: column 'close': not a finite number ('NaN')" "$tmp/err"
    rc=0
    "$bin" replay $data/BTCUSDT.csv --positions examples/positions/demo.json \
        > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 1 ]
    grep -qx "s6-position replay: position demo-eth-short: no price file for ETHUSDT" "$tmp/err"
    rc=0
    "$bin" replay $demo $data/BTCUSDT.csv > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 1 ]
    grep -qx "s6-position replay: BTCUSDT.csv: BTCUSDT has prices in BTCUSDT.csv already (one file per symbol)" "$tmp/err"
    rc=0
    "$bin" replay $data/BTCUSDT.csv > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 2 ]
    grep -q -- "--positions FILE is required" "$tmp/err"
    ;;
progress)
    script -qec "$bin replay $demo --quiet > /dev/null" /dev/null \
        > "$tmp/tty" < /dev/null
    grep -q '100.0%  80640/80640 updates' "$tmp/tty"
    "$bin" replay $demo --quiet > /dev/null 2> "$tmp/err"
    if grep -q 'updates/s' "$tmp/err" && ! grep -q '%' "$tmp/err"; then
        :
    else
        echo "a progress bar where stderr is not a terminal" >&2
        exit 1
    fi
    ;;
*)
    echo "unknown case $case_" >&2
    exit 2
    ;;
esac
