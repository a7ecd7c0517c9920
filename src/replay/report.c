/*
 * report.c — the replay's HTML page.  Long series are thinned to about
 * S6_REPORT_POINTS points per chart, keeping every point where the stop
 * moved so its steps stay where they happened.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/report.h"
#include "util/text_file.h"
#include "util/exact.h"

enum { S6_REPORT_POINTS = 1500 };

typedef struct point {
    double t, mark, stop;
} point;

typedef struct marker {
    double t, price, qty;
    char kind[16];
} marker;

typedef struct track {
    char pos_id[32], symbol[32];
    int side;
    double pnl;
    double closed;           /* 0 = open at the end */
    s6_timeline_pnl row;     /* the summary; row.end NULL: none given */
    point *pts;
    size_t n, cap;
    marker *mk;
    size_t n_mk, cap_mk;
} track;

struct s6_report {
    track *t;
    size_t n;
};

int s6_report_new(size_t n_tracks, s6_report **out)
{
    s6_report *r = calloc(1, sizeof *r);
    if (r == NULL || (r->t = calloc(n_tracks ? n_tracks : 1,
                                    sizeof *r->t)) == NULL) {
        free(r);
        return -ENOMEM;
    }
    r->n = n_tracks;
    *out = r;
    return 0;
}

void s6_report_free(s6_report *r)
{
    if (r == NULL)
        return;
    for (size_t k = 0; k < r->n; k++) {
        free(r->t[k].pts);
        free(r->t[k].mk);
    }
    free(r->t);
    free(r);
}

int s6_report_track(s6_report *r, size_t k, const char *pos_id,
                    const char *symbol, int side)
{
    if (k >= r->n)
        return -EINVAL;
    snprintf(r->t[k].pos_id, sizeof r->t[k].pos_id, "%s", pos_id);
    snprintf(r->t[k].symbol, sizeof r->t[k].symbol, "%s", symbol);
    r->t[k].side = side;
    return 0;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    void *nv = realloc(*v, c * size);
    if (nv == NULL)
        return -ENOMEM;
    *v = nv;
    *cap = c;
    return 0;
}

int s6_report_point(s6_report *r, size_t k, double t, double mark,
                    double stop)
{
    if (k >= r->n)
        return -EINVAL;
    track *tr = &r->t[k];
    if (grow((void **)&tr->pts, &tr->cap, tr->n, sizeof *tr->pts) != 0)
        return -ENOMEM;
    tr->pts[tr->n++] = (point){ t, mark, stop };
    return 0;
}

int s6_report_marker(s6_report *r, size_t k, double t, double price,
                     const char *kind, double qty)
{
    if (k >= r->n)
        return -EINVAL;
    track *tr = &r->t[k];
    if (grow((void **)&tr->mk, &tr->cap_mk, tr->n_mk, sizeof *tr->mk) != 0)
        return -ENOMEM;
    marker *m = &tr->mk[tr->n_mk++];
    *m = (marker){ .t = t, .price = price, .qty = qty };
    snprintf(m->kind, sizeof m->kind, "%s", kind);
    return 0;
}

void s6_report_pnl(s6_report *r, size_t k, double pnl)
{
    if (k < r->n)
        r->t[k].pnl = pnl;
}

void s6_report_summary(s6_report *r, size_t k, const s6_timeline_pnl *row)
{
    if (k < r->n)
        r->t[k].row = *row;
}

void s6_report_closed(s6_report *r, size_t k, double t)
{
    if (k < r->n)
        r->t[k].closed = t;
}

/* A closed position's chart runs a fifth of its life (at least an hour)
 * past the close, not to the end of the files. */
static size_t shown(const track *tr)
{
    if (tr->closed <= 0 || tr->n == 0)
        return tr->n;
    double life = tr->closed - tr->pts[0].t;
    double end = tr->closed + (life / 5 > 3600 ? life / 5 : 3600);
    size_t n = 0;
    while (n < tr->n && tr->pts[n].t <= end)
        n++;
    return n;
}

static json_t *xy(double x, double y)
{
    return json_pack("{s:f,s:f}", "x", x, "y", y);
}

/* Times are hours since t0, so the axis needs no date adapter.  A run is
 * the stop and the fills of one rule set; the mark is the first run's. */
static json_t *run_json(const track *tr, double t0, const char *label)
{
    json_t *price = json_array(), *stop = json_array(), *marks = json_array();
    size_t n = shown(tr), stride = n / S6_REPORT_POINTS + 1;
    for (size_t i = 0; i < n; i++) {
        const point *p = &tr->pts[i];
        bool moved = i > 0 && p->stop != tr->pts[i - 1].stop;
        if (i % stride != 0 && !moved && i + 1 != n)
            continue;
        double h = (p->t - t0) / 3600;
        json_array_append_new(price, xy(h, p->mark));
        json_array_append_new(stop, p->stop > 0 ? xy(h, p->stop)
                                                : json_pack("{s:f,s:n}", "x",
                                                            h, "y"));
    }
    for (size_t i = 0; i < tr->n_mk; i++) {
        const marker *m = &tr->mk[i];
        json_array_append_new(marks, json_pack("{s:f,s:f,s:s,s:f}", "x",
                                               (m->t - t0) / 3600, "y",
                                               m->price, "kind", m->kind,
                                               "qty", m->qty));
    }
    return json_pack("{s:s,s:f,s:o,s:o,s:o}", "label", label, "pnl", tr->pnl,
                     "price", price, "stop", stop, "fills", marks);
}

static json_t *track_json(const s6_report *const *runs,
                          const char *const *labels, size_t n_runs, size_t k,
                          double t0)
{
    const track *tr = &runs[0]->t[k];
    json_t *list = json_array();
    for (size_t i = 0; i < n_runs; i++)
        json_array_append_new(list, run_json(&runs[i]->t[k], t0, labels[i]));
    return json_pack("{s:s,s:s,s:s,s:o}", "pos_id", tr->pos_id, "symbol",
                     tr->symbol, "side", tr->side > 0 ? "LONG" : "SHORT",
                     "runs", list);
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>S6 replay report</title>\n<style>\n"
    "body{font-family:sans-serif;margin:24px;color:#222}\n"
    "h2{font-size:1.1em;margin:28px 0 6px}\n"
    "table{border-collapse:collapse;font-size:.9em}\n"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
    "th{background:#f2f2f2}td.l,th.l{text-align:left}\n</style>\n<script>\n";

/* Draws every chart, then records, in the body's data-check attribute
 * (not shown), whether each canvas got pixels and which script errors
 * happened (window.onerror and console.error). */
static const char page_script[] =
    "(function(){\n"
    "var errors=[];\n"
    "window.addEventListener('error',function(e){errors.push(String(e.message));});\n"
    "var ce=console.error;console.error=function(){errors.push([].slice.call(arguments).join(' '));ce.apply(console,arguments);};\n"
    "var style={ENTRY:['circle','#1f77b4'],ADD:['triangle','#2ca02c'],REDUCE:['rectRot','#ff7f0e'],"
    "CLOSE:['rect','#9467bd'],STOP:['crossRot','#d62728'],LIQUIDATION:['star','#000'],"
    "ADL:['star','#000'],MANUAL:['rect','#777']};\n"
    "var drawn=0,root=document.getElementById('charts');\n"
    "DATA.positions.forEach(function(p){\n"
    " var h=document.createElement('h2'),many=p.runs.length>1;\n"
    " h.textContent=p.pos_id+'  '+p.symbol+' '+p.side;\n"
    " var c=document.createElement('canvas');c.width=1100;c.height=380;\n"
    " root.appendChild(h);root.appendChild(c);\n"
    " var sets=[{label:'mark',data:p.runs[0].price,borderColor:'#555',borderWidth:1,pointRadius:0}];\n"
    " var stops=['#d62728','#1f4fd6','#2ca02c','#9467bd'];\n"
    " p.runs.forEach(function(r,ri){\n"
    "  var pre=many?r.label+': ':'';\n"
    "  sets.push({label:pre+'stop',data:r.stop,borderColor:stops[ri%4],borderWidth:2,pointRadius:0,\n"
    "   stepped:true,spanGaps:false,borderDash:ri?[6,3]:[]});\n"
    "  Object.keys(style).forEach(function(k){\n"
    "   var pts=r.fills.filter(function(f){return f.kind===k;});\n"
    "   var name={REDUCE:'take-profit',STOP:'stop fill'}[k]||k.toLowerCase();\n"
    "   if(pts.length)sets.push({type:'scatter',label:pre+name,data:pts,pointStyle:style[k][0],\n"
    "    backgroundColor:ri?'rgba(0,0,0,0)':style[k][1],borderColor:style[k][1],borderWidth:2,pointRadius:ri?10:7});\n"
    "  });\n"
    " });\n"
    " new Chart(c,{type:'line',data:{datasets:sets},options:{animation:false,responsive:false,\n"
    "  scales:{x:{type:'linear',title:{display:true,text:'hours from the start'}},y:{title:{display:true,text:'price'}}},\n"
    "  plugins:{tooltip:{callbacks:{label:function(i){var d=i.raw;return i.dataset.label+' '+d.y+(d.qty?' qty '+d.qty:'');}}}}}});\n"
    " var px=c.getContext('2d').getImageData(0,0,c.width,c.height).data;\n"
    " for(var i=3;i<px.length;i+=4)if(px[i]!==0){drawn++;break;}\n"
    "});\n"
    "document.body.setAttribute('data-check',(errors.length?'errors: '+errors.join('; '):'ok')+\n"
    " ' charts='+DATA.positions.length+' drawn='+drawn);\n"
    "})();\n";

/* JSON inside <script>: "</" would end the element. */
static void put_script_json(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (s[0] == '<' && s[1] == '/')
            fputs("<\\", f);
        else
            fputc(*s, f);
    }
}

static void put_html_text(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        default: fputc(*s, f);
        }
}

static void put_cell(FILE *f, const char *cls, const char *text)
{
    fprintf(f, "<td%s>", cls);
    put_html_text(f, text);
    fputs("</td>", f);
}

/* Money to the cent of the quote asset, as the PnL table prints it. */
static void put_money(FILE *f, double v)
{
    char buf[48];
    put_cell(f, "", s6_exact_format(v, S6_EXACT_CENT, buf, sizeof buf) > 0
                        ? buf : "-");
}

static void put_count(FILE *f, unsigned n)
{
    fprintf(f, "<td>%u</td>", n);
}

/* One row a position (and a run, in a comparison), above the charts:
 * what a reader wants first. */
static void put_summary(FILE *f, const s6_report *const *runs,
                        const char *const *labels, size_t n_runs)
{
    fprintf(f, "<table id=\"summary\"><thead><tr><th class=\"l\">position"
               "</th>%s<th class=\"l\">symbol</th><th class=\"l\">side</th>"
               "<th>PnL</th><th>realized</th><th>unrealized</th><th>fees</th>"
               "<th>stop moves</th><th>take-profits</th><th>adds</th>"
               "<th class=\"l\">end</th></tr></thead>\n<tbody>\n",
            n_runs > 1 ? "<th class=\"l\">run</th>" : "");
    for (size_t row = 0; row < runs[0]->n * n_runs; row++) {
        const track *t = &runs[row % n_runs]->t[row / n_runs];
        const s6_timeline_pnl *p = &t->row;
        fputs("<tr>", f);
        put_cell(f, " class=\"l\"", t->pos_id);
        if (n_runs > 1)
            put_cell(f, " class=\"l\"", labels[row % n_runs]);
        put_cell(f, " class=\"l\"", t->symbol);
        put_cell(f, " class=\"l\"", t->side > 0 ? "LONG" : "SHORT");
        put_money(f, p->realized + p->unrealized);
        put_money(f, p->realized);
        put_money(f, p->unrealized);
        put_money(f, p->fees);
        put_count(f, p->stops_moved);
        put_count(f, p->tps);
        put_count(f, p->adds);
        put_cell(f, " class=\"l\"", p->end ? p->end : "-");
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

int s6_report_write(const s6_report *r, const char *path, const char *chartjs,
                    const char *title, char *err, size_t errlen)
{
    const char *label = "";
    return s6_report_write_runs(&r, &label, 1, path, chartjs, title, err,
                                errlen);
}

int s6_report_write_runs(const s6_report *const *runs,
                         const char *const *labels, size_t n_runs,
                         const char *path, const char *chartjs,
                         const char *title, char *err, size_t errlen)
{
    const s6_report *r = runs[0];
    char *lib;
    char why[512];
    if (s6_read_text_file(chartjs, &lib, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot inline Chart.js (install "
                              "libjs-chart.js): %s", why);
        return -ENOENT;
    }
    double t0 = INFINITY;
    for (size_t k = 0; k < r->n; k++)
        if (r->t[k].n > 0 && r->t[k].pts[0].t < t0)
            t0 = r->t[k].pts[0].t;
    json_t *list = json_array();
    for (size_t k = 0; k < r->n; k++)
        json_array_append_new(list, track_json(runs, labels, n_runs, k, t0));
    json_t *doc = json_pack("{s:o}", "positions", list);
    char *data = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(doc);
    FILE *f = data ? fopen(path, "w") : NULL;
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path,
                 data ? strerror(errno) : "out of memory");
        free(lib);
        free(data);
        return -EIO;
    }
    fputs(page_head, f);
    fputs(lib, f);
    fputs("\n</script>\n</head><body>\n<h1>S6 replay</h1>\n<p>", f);
    put_html_text(f, title);
    fputs("</p>\n", f);
    put_summary(f, runs, labels, n_runs);
    fputs("<div id=\"charts\"></div>\n<script>\nvar DATA=", f);
    put_script_json(f, data);
    fputs(";\n", f);
    fputs(page_script, f);
    fputs("</script>\n</body></html>\n", f);
    free(lib);
    free(data);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -EIO;
    }
    return 0;
}
