/** A host: interfaces, routes, neighbours, sockets (netstat with owners), counters, processes. */
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.ts";
import { getJson, type Overview } from "./api.ts";
import { connTable } from "./topology_view.ts";

type Row = Record<string, unknown>;

interface HostDetail {
  name: string;
  ifaces: Row[];
  routes: Row[];
  neigh: Row[];
  sockets: Row[];
  stats: { counters: Record<string, number> };
  processes: Row[];
}

/** The host view. */
export function hostView(name: string, ov?: Overview) {
  return html`<${HostView} name=${name} ov=${ov} />`;
}

function table(rows: Row[], cols: Array<[string, (r: Row) => unknown]>) {
  if (!rows.length) return html`<p class="muted">none</p>`;
  return html`<table><tr>${cols.map(([c]) => html`<th>${c}</th>`)}</tr>
    ${
    rows.map((r) => html`<tr>${cols.map(([, f]) => html`<td>${String(f(r) ?? "")}</td>`)}</tr>`)
  }</table>`;
}

function HostView({ name, ov }: { name: string; ov?: Overview }) {
  const [d, setD] = useState<HostDetail>();
  const [err, setErr] = useState<string>();
  useEffect(() => {
    let live = true;
    const load = () =>
      getJson<HostDetail>("/api/host", { name }).then(
        (x) => live && setD(x),
        (e) => setErr(String(e)),
      );
    load();
    const t = setInterval(load, 2000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [name]);
  if (err) return html`<p class="error">${err}</p>`;
  if (!d) return html`<p>Loading ${name}…</p>`;
  const addrs = (r: Row) => (r.addrs as Row[]).map((a) => `${a.addr}/${a.prefixLen}`).join(" ");
  const st = (r: Row) => r.stats as Row;
  const counters = Object.entries(d.stats.counters).filter(([, v]) => v).sort();
  return html`
    <h2>Host ${d.name}</h2>
        <h3>Interfaces</h3>
        ${table(d.ifaces, [
          ["name", (r) => r.name],
          ["driver", (r) => r.driver],
          ["mac", (r) => r.mac],
          ["mtu", (r) => r.mtu],
          ["state", (r) => `${r.up ? "UP" : "down"}${r.linkUp ? ",RUNNING" : ",NO-CARRIER"}`],
          ["addresses", addrs],
          ["rx pkts", (r) => st(r).rxPackets],
          ["tx pkts", (r) => st(r).txPackets],
          ["rx drop", (r) => st(r).rxDropped],
        ])}
        <h3>TCP connections</h3>${connTable(ov, d.name)}
        <div class="cols">
      <section><h3>Routes</h3>
        ${table(d.routes, [
          ["dest", (r) => `${r.dest}/${r.prefixLen}`],
          ["gateway", (r) => r.gateway ?? "*"],
          ["iface", (r) => r.iface],
          ["flags", (r) => r.flags],
          ["metric", (r) => r.metric],
        ])}
        </section>
      <section><h3>Neighbours (ARP / NDP)</h3>
        ${table(d.neigh, [["address", (r) => r.addr], ["mac", (r) => r.mac ?? ""], [
          "iface",
          (r) => r.iface,
        ], ["state", (r) => r.state]])}
        </section>
    </div>
        <h3>Sockets</h3>
        ${table(d.sockets, [
          ["proto", (r) => r.proto],
          ["recv-Q", (r) => r.recvQ],
          ["send-Q", (r) => r.sendQ],
          ["local", (r) => r.local],
          ["remote", (r) => r.remote],
          ["state", (r) => r.state],
          ["pids", (r) => (r.pids as number[]).join(",")],
        ])}
        <h3>Processes</h3>
        ${table(d.processes, [
          ["pid", (r) => r.pid],
          ["uid", (r) => r.uid],
          ["name", (r) => r.name],
          ["fds", (r) => r.fds],
          ["memory", (r) => r.memory],
        ])}
        <h3>Counters</h3>
        <div class="counters">${counters.map(([k, v]) => html`<span><b>${v}</b> ${k}</span>`)}</div>
  `;
}
