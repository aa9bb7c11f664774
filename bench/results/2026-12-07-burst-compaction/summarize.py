# Medians (min-max) per scenario, loop, read executor and "poll" label:
#   python3 summarize.py readisolation-contended-yield*.jsonl
import json,statistics as st,collections,sys
rows=[json.loads(l) for f in sys.argv[1:] for l in open(f)]
g=collections.defaultdict(list)
for r in rows:
    k=(r['scenario'],r['loop'],r['read_exec'],r['poll'])
    g[k].append(r)
for k in sorted(g):
    rs=g[k]
    def m(f):
        v=[x.get(f) for x in rs if x.get(f) is not None]
        return "%.0f(%.0f-%.0f)"%(st.median(v),min(v),max(v)) if v else "-"
    print("%-60s n=%d p99 %-18s reads/s %-24s writes/s %s"%(k,len(rs),m('read_p99_us'),m('read_ops_per_sec'),m('writes_per_sec')))
