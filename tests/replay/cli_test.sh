#!/bin/sh
# The replay subcommand end to end: cli_test.sh CASE S6_POSITION SOURCE_DIR
#   handworked   the worked example of docs/replay.md, line by line
#   determinism  the shipped example twice (Lua, then native): same bytes
#   report       the HTML report draws in headless Chromium, no errors
#   badfile      a bad price file: exit 1, the file, the line, the reason
#   progress     a progress bar on a terminal (script(1) gives one), none
#                when stderr is a file
#   compare      --compare on the worked example: hand-worked figures and
#                the first divergence; the report draws both runs
#   sweep        --sweep on the worked example: hand-worked figures, the
#                ranking by each figure, the same table with 1 or 2 workers,
#                the heat map
#   sweep_errors a bad --sweep: usage (exit 2) or the rule's schema (exit 1)
set -eu
case_=$1
bin=$2
src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
data=examples/data
demo="$data/BTCUSDT.csv $data/ETHUSDT.csv --positions examples/positions/demo.json"
hw="$data/handworked/BTCUSDT.csv --positions examples/positions/handworked.json --config $data/handworked/config.json"

# figure TABLE_FILE ROW RUN COLUMN WANT: the column (by its header) of the
# line starting "ROW RUN" equals WANT to the table's 4 decimals (WANT is
# worked by hand; a time is h:mm:ss, compared as text).
figure() {
    awk -v row="$2" -v run="$3" -v col="$4" -v want="$5" '
        $1 == "position" || $1 == "rank" { for (i = 1; i <= NF; i++) c[$i] = i }
        $1 == row && $2 == run && c[col] {
            got = $(c[col]); found = 1
            if (want ~ /:/) ok = got == want
            else { d = got - want; ok = d <= 0.00006 && d >= -0.00006 }
            if (!ok) { printf "%s %s %s: got %s, worked by hand %s\n", row, run, col, got, want > "/dev/stderr"; exit 1 }
        }
        END { if (!found) { printf "no row %s %s\n", row, run > "/dev/stderr"; exit 1 } }' "$1"
}

# chromium_status PAGE: the report's self-check line.
chromium_status() {
    timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$tmp/profile" --virtual-time-budget=10000 \
        --dump-dom "file://$1" > "$tmp/dom" 2> "$tmp/chromium.log"
    sed -n 's/.*<body data-check="\([^"]*\)".*/\1/p' "$tmp/dom"
}

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
compare)
    # B is the shipped rules without the take-profit ladder.  Worked by hand
    # from docs/replay.md's table (0.010 BTCUSDT long at 50000, 10x, taker
    # fee 0.0005, no slippage, no latency); equity = realized (net of every
    # fee) + unrealized, after each minute's mark:
    #   A (shipped):  -0.25, 2.62425, 7.12425, 8.37075 (TP of 0.010 at
    #     50700: realized 5.37075, 0.005 left), 10.87075 (peak), 9.37075,
    #     8.4439 (stopped at 50740), 8.4439.  Max drawdown 10.87075 − 8.4439
    #     = 2.42685; in market 00:00 → 00:06.  Fees 0.25 + 0.12575 + 0.2535
    #     + 0.12685 = 0.7561.  Stop moves: re-placed after the add (00:01),
    #     step 1 (00:02), re-placed after the TP (00:03), step 2 (00:04).
    #   B (no ladder): 0.015 at 50100 stays open; equity −0.37575 +
    #     0.015·(mark − 50100): −0.25, 2.62425, 7.12425, 8.62425, 16.12425
    #     (peak), 11.62425, 9.22425 (50740 is above B's stop), 10.12425.
    #     Max drawdown 16.12425 − 9.22425 = 6.9; in market 00:00 → 00:07,
    #     the last mark.  Step 2 at 00:04 for the whole 0.015:
    #     (0.1·74.77425 + 0.37575 + 751.5)/(0.015·0.9995) = 50648.869 → 50648.9.
    mkdir "$tmp/b"
    cp rules/*.lua "$tmp/b/"
    rm "$tmp/b/tp_ladder.lua"
    "$bin" replay $hw --compare rules "$tmp/b" --report "$tmp/c.html" \
        > "$tmp/out" 2> "$tmp/err"
    cat "$tmp/out"
    for row in hw-long total; do
        figure "$tmp/out" $row A realized 8.4439
        figure "$tmp/out" $row A unrealized 0
        figure "$tmp/out" $row A fees 0.7561
        figure "$tmp/out" $row A pnl 8.4439
        figure "$tmp/out" $row A max_drawdown 2.42685
        figure "$tmp/out" $row A time_in_market 0:06:00
        figure "$tmp/out" $row A stops 4
        figure "$tmp/out" $row A tps 1
        figure "$tmp/out" $row A adds 1
        figure "$tmp/out" $row B realized -0.37575
        figure "$tmp/out" $row B unrealized 10.5
        figure "$tmp/out" $row B fees 0.37575
        figure "$tmp/out" $row B pnl 10.12425
        figure "$tmp/out" $row B max_drawdown 6.9
        figure "$tmp/out" $row B time_in_market 0:07:00
        figure "$tmp/out" $row B stops 3
        figure "$tmp/out" $row B tps 0
        figure "$tmp/out" $row B-A pnl 1.68035
        figure "$tmp/out" $row B-A max_drawdown 4.47315
        figure "$tmp/out" $row B-A time_in_market 0:01:00
    done
    # The runs are the same up to A's take-profit plan at 00:03; at that
    # line B's next action is the step-2 stop at 00:04.
    grep -Eq '^  A: 2026-11-25T00:03:00.000Z +hw-long +PLAN +50700 ' "$tmp/out"
    grep -Eq '^  B: 2026-11-25T00:04:00.000Z +hw-long +STOP_REQUESTED +51200 +50648.9$' "$tmp/out"
    # the same inputs give the same bytes
    "$bin" replay $hw --compare rules "$tmp/b" > "$tmp/again" 2> /dev/null
    cmp "$tmp/out" "$tmp/again"
    # the same rules on both sides: no divergence
    "$bin" replay $hw --compare rules rules > "$tmp/same" 2> /dev/null
    grep -q '^The timelines are the same' "$tmp/same"
    status=$(chromium_status "$tmp/c.html")
    echo "report status: $status"
    [ "$status" = "ok charts=1 drawn=1" ]
    grep -q '"label":"B (' "$tmp/c.html"
    # the summary table above the charts: a row per run
    grep -q '<td class="l">hw-long</td><td class="l">A (rules)</td>' "$tmp/c.html"
    grep -q '<td class="l">hw-long</td><td class="l">B (' "$tmp/c.html"
    ;;
sweep)
    # tp_ladder.steps[1].roe = 0.12 is the shipped ladder (run A of the
    # compare case); 0.5 is never reached (ROE peaks at 22.07 %), which is
    # run B there.  stagnation needs 4 h open: roe_min changes nothing, so
    # each pair ties and keeps grid order (the last parameter fastest).
    "$bin" replay $hw --sweep 'tp_ladder.steps[1].roe=0.12,0.5' \
        --sweep 'stagnation.roe_min=0.01,0.02' --jobs 2 \
        --report "$tmp/s.html" > "$tmp/pnl" 2> "$tmp/err"
    cat "$tmp/pnl"
    # by PnL: 10.12425 (0.5) before 8.4439 (0.12)
    figure "$tmp/pnl" 1 0.5 pnl 10.12425
    figure "$tmp/pnl" 1 0.5 stagnation.roe_min 0.01
    figure "$tmp/pnl" 2 0.5 stagnation.roe_min 0.02
    figure "$tmp/pnl" 3 0.12 pnl 8.4439
    figure "$tmp/pnl" 3 0.12 max_drawdown 2.42685
    figure "$tmp/pnl" 3 0.12 tps 1
    figure "$tmp/pnl" 4 0.12 stagnation.roe_min 0.02
    # by drawdown: 2.42685 before 6.9; by PnL/drawdown 8.4439/2.42685 =
    # 3.4794 before 10.12425/6.9 = 1.4673
    for by in drawdown ratio; do
        "$bin" replay $hw --sweep 'tp_ladder.steps[1].roe=0.12,0.5' \
            --sweep 'stagnation.roe_min=0.01,0.02' --by $by > "$tmp/$by" 2> /dev/null
        figure "$tmp/$by" 1 0.12 pnl/dd 3.47937
        figure "$tmp/$by" 4 0.5 pnl/dd 1.46728
        figure "$tmp/$by" 4 0.5 max_drawdown 6.9
    done
    # the table does not depend on the number of workers
    "$bin" replay $hw --sweep 'tp_ladder.steps[1].roe=0.12,0.5' \
        --sweep 'stagnation.roe_min=0.01,0.02' --jobs 1 > "$tmp/one" 2> /dev/null
    cmp "$tmp/pnl" "$tmp/one"
    # the heat map: 2 × 2 cells, rows the ladder's ROE, best PnL per cell
    [ "$(grep -o 'class="cell"' "$tmp/s.html" | wc -l)" -eq 4 ]
    grep -q '<th>0.5</th><td class="cell" style="background:hsl(120,' "$tmp/s.html"
    grep -q '<th>0.12</th><td class="cell" style="background:hsl(0,' "$tmp/s.html"
    ;;
sweep_errors)
    rc=0
    "$bin" replay $hw --sweep 'add_on.gamma' > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 2 ]
    grep -q "expected RULE.PARAM=V1,V2" "$tmp/err"
    rc=0
    "$bin" replay $hw --sweep 'add_on.gamma=0.3,x' > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 2 ]
    rc=0
    "$bin" replay $hw --sweep 'add_on.gama=0.3,0.5' > /dev/null 2> "$tmp/err" || rc=$?
    cat "$tmp/err"
    [ "$rc" -eq 1 ]
    grep -qx "s6-position replay: --sweep: add_on.gama: unknown parameter" "$tmp/err"
    rc=0
    "$bin" replay $hw --sweep 'add_on.gamma=0.3,1.5' > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 1 ]
    grep -qx "s6-position replay: --sweep: add_on.gamma: must be a number in (0, 1) (got 1.5)" "$tmp/err"
    rc=0
    "$bin" replay $hw --sweep 'add_on.gamma=0.3' --native > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 2 ]
    ;;
*)
    echo "unknown case $case_" >&2
    exit 2
    ;;
esac
