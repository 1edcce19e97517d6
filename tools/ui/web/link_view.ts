/** A link: counters, editable impairments and carrier, the last frames, a pcap download. */
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.ts";
import { api, fmtRate, getJson, type Overview, postJson } from "./api.ts";

/** The form's fields: label, field of LinkFaults, unit, and the scale from the unit. */
const FIELDS: Array<[string, string, string, number]> = [
  ["loss", "loss", "%", 0.01],
  ["delay", "delayMs", "ms", 1],
  ["jitter", "jitterMs", "ms", 1],
  ["duplicate", "dup", "%", 0.01],
  ["reorder", "reorder", "%", 0.01],
  ["corrupt", "corrupt", "%", 0.01],
  ["rate", "rateBitsPerSec", "Mbit/s", 1e6],
  ["burst loss p (good→bad)", "geP", "%", 0.01],
  ["burst loss r (bad→good)", "geR", "%", 0.01],
];

interface FrameLine {
  seq: number;
  time: number;
  port: string;
  dir: string;
  len: number;
  line: string;
}

/** The link view. */
export function linkView(name: string, ov?: Overview) {
  return html`<${LinkPage} name=${name} ov=${ov} />`;
}

function LinkPage({ name, ov }: { name: string; ov?: Overview }) {
  const link = ov?.links.find((l) => l.name === name);
  const [form, setForm] = useState<Record<string, string>>({});
  const [msg, setMsg] = useState<string>();
  const [filter, setFilter] = useState("");
  const [frames, setFrames] = useState<FrameLine[]>([]);
  useEffect(() => {
    let live = true;
    const load = () =>
      getJson<FrameLine[]>("/api/frames", { link: name, n: 100, filter }).then(
        (f) => live && setFrames(f),
        () => {},
      );
    load();
    const t = setInterval(load, 1000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [name, filter]);
  if (!ov) return html`<p>Connecting…</p>`;
  if (!link) return html`<p class="error">No link named ${name}</p>`;
  const apply = async (body: Record<string, unknown>) => {
    const err = await postJson("/api/link", { link: name, ...body });
    setMsg(err ? `Refused: ${err}` : "Applied.");
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const faults: Record<string, number> = {};
    for (const [, field, , scale] of FIELDS) {
      const v = form[field];
      if (v === undefined || v.trim() === "") continue;
      faults[field] = Number(v) * scale;
    }
    apply({ faults });
  };
  const current = (field: string, scale: number) => {
    const v = link.faults[field];
    return v ? String(+(v / scale).toPrecision(6)) : "";
  };
  return html`
    <h2>Link ${name} <span class=${link.up ? "up" : "down"}>${link.up ? "UP" : "DOWN"}</span></h2>
        <p>${fmtRate(link.bps)}, ${link.pps.toFixed(0)} pkt/s, ${link.dropsPerSec.toFixed(
          0,
        )} drops/s.
          Dropped so far: <span id="lost">${link.drops.lost}</span> lost, ${link.drops
            .rateDropped} by the rate limit,
          ${link.drops.down} while down; ${link.drops.duplicated} duplicated, ${link.drops
            .reordered} reordered,
          ${link.drops.corrupted} corrupted.</p>
        <table><tr><th>cable</th><th>tx frames</th><th>tx bytes</th><th>rx frames</th><th>rx bytes</th></tr>
          ${link.ports.map((p) =>
            html`
              <tr>
                <td>${p.label}</td>
                <td>${p.txFrames}</td>
                <td>${p.txBytes}</td>
                <td>${p.rxFrames}</td>
                <td>${p.rxBytes}</td>
              </tr>
            `
          )}</table>
        ${link.controllable
          ? html`<form class="faults" onSubmit=${submit}>
      <h3>Impairments (netem)</h3>
      ${
            FIELDS.map(([label, field, unit, scale]) =>
              html`<label>${label}
        <input name=${field} placeholder=${current(field, scale) || "0"} value=${form[field] ?? ""}
          onInput=${(e: Event) =>
                setForm({
                  ...form,
                  [field]: (e.target as HTMLInputElement).value,
                })} /> ${unit}</label>`
            )
          }
      <div><button type="submit" id="apply">Apply</button>
        <button type="button" onClick=${() => apply({ clear: true })}>Clear all</button>
        <button type="button" id="carrier" onClick=${() => apply({ up: !link.up })}>${
            link.up ? "Set down" : "Set up"
          }</button>
        <span class="msg">${msg}</span></div>
    </form>`
          : html`<p class="muted">A TAP on its fast path: boot with --faults or --pcap to change it.</p>`}
        <h3>Last frames <a href=${api("/api/pcap", {
          link: name,
        })} download=${`serin-${name}.pcap`} id="pcap">download pcap</a></h3>
        <input class="filter" placeholder="filter, e.g. TCP or alpha" value=${filter}
      onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} />
        <pre class="frames">${frames.map((f) =>
          `${new Date(f.time).toISOString().slice(11, 23)} ${f.port} ${f.dir} ${f.len} ${f.line}\n`
        )}</pre>
  `;
}
