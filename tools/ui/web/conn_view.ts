/**
 * A TCP connection: live uPlot charts of cwnd/ssthresh/in-flight, srtt/rttvar/RTO, windows and
 * retransmissions (fast retransmits and RTOs marked), its state timeline, and a time-sequence
 * (Stevens) graph of the segments sent, the ACKs, SACK blocks and retransmissions.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.ts";
import uPlot from "uplot";
import { getJson, type Sample } from "./api.ts";

interface SeqEvent {
  t: number;
  kind: "data" | "ack";
  seq: number;
  end: number;
  ack: number;
  retrans?: boolean;
  sack?: Array<[number, number]>;
}

interface Conn {
  key: string;
  host: string;
  local: string;
  remote: string;
  pids: number[];
  state: string;
  first: number;
  samples: Sample[];
  marks: Array<{ t: number; kind: string }>;
  states: Array<{ t: number; state: string }>;
  segments: SeqEvent[];
}

/** Bounds of what the page keeps (the server keeps more). */
const MAX_POINTS = 20_000;

/** The connection view. */
export function connView(key: string) {
  return html`<${ConnPage} key=${key} id=${key} />`;
}

function ConnPage({ id }: { id: string }) {
  const [conn, setConn] = useState<Conn>();
  const [err, setErr] = useState<string>();
  const [tick, setTick] = useState(0);
  const acc = useRef<Conn | undefined>(undefined);
  useEffect(() => {
    acc.current = undefined;
    let live = true;
    let cursor = "0.0.0";
    const load = async () => {
      try {
        const c = await getJson<Conn & { cursor: string }>("/api/conn", { key: id, cursor });
        if (!live) return;
        const a = acc.current;
        if (!a) acc.current = c;
        else {
          a.samples.push(...c.samples);
          a.marks.push(...c.marks);
          a.segments.push(...c.segments);
          a.states = c.states;
          a.state = c.state;
          for (const k of ["samples", "segments"] as const) {
            if (a[k].length > MAX_POINTS) a[k].splice(0, a[k].length - MAX_POINTS);
          }
        }
        cursor = c.cursor;
        setConn(acc.current);
        setTick((n) => n + 1);
      } catch (e) {
        setErr(String(e));
      }
    };
    load();
    const t = setInterval(load, 300);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [id]);
  if (err && !conn) return html`<p class="error">${err}</p>`;
  if (!conn) return html`<p>Loading…</p>`;
  const t0 = conn.first;
  const rel = (t: number) => (t - t0) / 1000;
  const s = conn.samples;
  const x = s.map((p) => rel(p.t));
  const marks = conn.marks.map((m) => ({ x: rel(m.t), kind: m.kind }));
  return html`
    <h2>TCP ${conn.host}: ${conn.local} → ${conn.remote} <span class="muted">${conn
      .state}, pids ${conn.pids.join(",")}</span></h2>
    <div class="timeline">${conn.states.map((st) =>
      html`<span><b>${st.state}</b> at ${rel(st.t).toFixed(3)} s</span>`
    )}
          ${marks.length
            ? html`<span>${
              marks.filter((m) => m.kind === "fast-retransmit").length
            } fast retransmits,
        ${marks.filter((m) => m.kind === "rto").length} RTOs</span>`
            : ""}</div>
    <div class="charts">
      <${Chart} id="cwnd" title="cwnd, ssthresh, in flight (bytes)" tick=${tick}
        marks=${marks}
        data=${[x, s.map((p) => p.cwnd), s.map((p) => p.ssthresh), s.map((p) => p.inflight)]}
        series=${[["cwnd", "#1f6fd1"], ["ssthresh", "#d1451f"], ["in flight", "#3a9b48"]]} />
      <${Chart} id="rtt" title="srtt, rttvar, RTO (ms)" tick=${tick} marks=${marks}
        data=${[x, s.map((p) => p.srtt), s.map((p) => p.rttvar), s.map((p) => p.rto)]}
        series=${[["srtt", "#1f6fd1"], ["rttvar", "#8a4fd1"], ["RTO", "#d1451f"]]} />
      <${Chart} id="wnd" title="send and receive windows (bytes)" tick=${tick} marks=${marks}
        data=${[x, s.map((p) => p.sndWnd), s.map((p) => p.rcvWnd)]}
        series=${[["snd wnd", "#1f6fd1"], ["rcv wnd", "#3a9b48"]]} />
      <${Chart} id="retrans" title="retransmitted segments (red: fast retransmit, black: RTO)"
        tick=${tick} marks=${marks}
        data=${[x, s.map((p) => p.retrans)]} series=${[["retransmissions", "#d1451f"]]} />
      <${SeqGraph} conn=${conn} tick=${tick} />
    </div>
  `;
}

/** Draw the marks as vertical lines: fast retransmits red, RTOs black. */
function marksPlugin(marks: () => Array<{ x: number; kind: string }>): uPlot.Plugin {
  return {
    hooks: {
      draw: [(u: uPlot) => {
        const ctx = u.ctx;
        ctx.save();
        for (const m of marks()) {
          const px = u.valToPos(m.x, "x", true);
          if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = m.kind === "rto" ? "#000" : "#e02020";
          ctx.lineWidth = 1.5;
          ctx.beginPath();
          ctx.moveTo(px, u.bbox.top);
          ctx.lineTo(px, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

function Chart(
  { id, title, data, series, tick, marks, points }: {
    id: string;
    title: string;
    data: Array<Array<number | null>>;
    series: Array<[string, string]>;
    tick: number;
    marks: Array<{ x: number; kind: string }>;
    points?: boolean;
  },
) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const markRef = useRef(marks);
  markRef.current = marks;
  useEffect(() => {
    plot.current = new uPlot(
      {
        width: Math.min(560, innerWidth - 40),
        height: 220,
        title,
        scales: { x: { time: false } },
        axes: [{ label: "s" }, { size: 70 }],
        plugins: [marksPlugin(() => markRef.current)],
        series: [
          { label: "t (s)" },
          ...series.map(([label, stroke]) => ({
            label,
            stroke,
            width: 1.5,
            spanGaps: true,
            ...(points ? { paths: () => null, points: { show: true, size: 4, fill: stroke } } : {}),
          })),
        ],
      },
      data as uPlot.AlignedData,
      box.current!,
    );
    return () => plot.current?.destroy();
  }, [id]);
  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [tick]);
  return html`
    <div class="chart" id=${`chart-${id}`} data-points=${data[0].length}
      data-last=${data[1]?.at(-1) ?? ""}>
      <div ref=${box}></div>
    </div>
  `;
}

/**
 * The time-sequence graph as Wireshark's tcptrace view draws it: each segment sent is a point at
 * its end sequence number (retransmissions red), the ACK line under them, SACKed edges above.
 */
function SeqGraph({ conn, tick }: { conn: Conn; tick: number }) {
  const t0 = conn.first;
  const xs: number[] = [], data: Array<number | null> = [], re: Array<number | null> = [];
  const ack: Array<number | null> = [], sack: Array<number | null> = [];
  for (const e of conn.segments) {
    xs.push((e.t - t0) / 1000);
    const isData = e.kind === "data";
    data.push(isData && !e.retrans ? e.end : null);
    re.push(isData && e.retrans ? e.end : null);
    ack.push(!isData ? e.ack : null);
    sack.push(!isData && e.sack?.length ? Math.max(...e.sack.map(([, r]) => r)) : null);
  }
  // uPlot wants x ascending: captures from two cables may interleave by a hair.
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const pick = <T>(a: T[]) => order.map((i) => a[i]);
  return html`
    <${Chart} id="tseq"
      title="time-sequence: data sent (blue), retransmitted (red), ACKed (green), SACKed (orange)"
      tick=${tick} marks=${[]} points=${true}
      data=${[pick(xs), pick(data), pick(re), pick(ack), pick(sack)]}
      series=${[["sent", "#1f6fd1"], ["retransmitted", "#e02020"], ["acked", "#3a9b48"], [
        "sacked",
        "#e08a20",
      ]]} />
  `;
}
