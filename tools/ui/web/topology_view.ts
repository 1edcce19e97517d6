/** The topology: hosts and links laid out by Cytoscape.js, live rates on the links. */
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.ts";
import cytoscape from "cytoscape";
import { fmtRate, getJson, type LinkView, type Overview } from "./api.ts";

interface Iface {
  name: string;
  mac: string;
  linkUp: boolean;
  addrs: Array<{ family: number; addr: string; prefixLen: number; scope: string }>;
}

interface Topology {
  hosts: Array<{ name: string; ifaces: Iface[] }>;
  links: LinkView[];
}

function linkLabel(l: LinkView): string {
  const state = l.up ? "" : " DOWN";
  const drops = l.dropsPerSec > 0 ? `, ${l.dropsPerSec.toFixed(0)} drops/s` : "";
  return `${l.name}${state}\n${fmtRate(l.bps)} ${l.pps.toFixed(0)} pkt/s${drops}`;
}

function Graph({ topo, ov }: { topo: Topology; ov?: Overview }) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | undefined>(undefined);
  useEffect(() => {
    const elements: cytoscape.ElementDefinition[] = [];
    // Cytoscape refuses a second element with one id (and then draws nothing): a Linux TAP or a
    // host not yet listed may appear on several links, so each id goes in once.
    const ids = new Set<string>();
    const add = (d: cytoscape.ElementDefinition) => {
      if (ids.has(d.data.id!)) return;
      ids.add(d.data.id!);
      elements.push(d);
    };
    for (const host of topo.hosts) {
      const addrs = host.ifaces.flatMap((i) =>
        i.addrs.filter((a) => a.scope !== "host" && a.scope !== "link").map((a) =>
          `${a.addr}/${a.prefixLen}`
        )
      );
      add({
        data: { id: `h:${host.name}`, label: `${host.name}\n${addrs.join("\n")}`, kind: "host" },
      });
    }
    for (const l of topo.links) {
      add({ data: { id: `l:${l.name}`, label: linkLabel(l), kind: l.kind } });
      for (const p of l.ports) {
        const [host, iface = ""] = p.label.split("/");
        if (!topo.hosts.some((x) => x.name === host)) {
          // A Linux TAP plugged into a switch ("linux:tap0"): Linux stands where a host would.
          add({ data: { id: `h:${host}`, label: host, kind: "tap" } });
        }
        add({
          data: { id: `e:${p.label}`, source: `h:${host}`, target: `l:${l.name}`, label: iface },
        });
      }
    }
    cy.current = cytoscape({
      container: box.current,
      elements,
      layout: { name: "breadthfirst", padding: 30, spacingFactor: 1.3 },
      userZoomingEnabled: false,
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "text-wrap": "wrap",
            "text-valign": "bottom",
            "text-margin-y": 6,
            "font-size": 11,
            color: "#222",
          },
        },
        {
          selector: "node[kind = 'host']",
          style: { shape: "round-rectangle", "background-color": "#3b6fb6", width: 46, height: 30 },
        },
        {
          selector: "node[kind = 'switch']",
          style: { shape: "diamond", "background-color": "#4a9d5b" },
        },
        {
          selector: "node[kind = 'tap']",
          style: { shape: "hexagon", "background-color": "#b07a2a" },
        },
        {
          selector: "edge",
          style: {
            label: "data(label)",
            "font-size": 10,
            width: 2,
            "line-color": "#999",
            "curve-style": "bezier",
          },
        },
      ],
    });
    cy.current.on("tap", "node", (e) => {
      const id = e.target.id() as string;
      location.hash = id.startsWith("h:")
        ? `#/host/${encodeURIComponent(id.slice(2))}`
        : `#/link/${encodeURIComponent(id.slice(2))}`;
    });
    return () => cy.current?.destroy();
  }, [JSON.stringify(topo.hosts), topo.links.map((l) => l.name).join()]);
  useEffect(() => {
    for (const l of ov?.links ?? []) {
      const n = cy.current?.getElementById(`l:${l.name}`);
      if (n?.nonempty()) {
        n.data("label", linkLabel(l));
        n.style(
          "background-color",
          !l.up ? "#c33" : l.dropsPerSec > 0 ? "#d98a1f" : l.kind === "tap" ? "#b07a2a" : "#4a9d5b",
        );
      }
    }
  }, [ov]);
  return html`<div class="graph" ref=${box}></div>`;
}

/** The topology view. */
export function topologyView(ov?: Overview) {
  return html`<${TopologyView} ov=${ov} />`;
}

function TopologyView({ ov }: { ov?: Overview }) {
  const [topo, setTopo] = useState<Topology>();
  const [err, setErr] = useState<string>();
  useEffect(() => {
    getJson<Topology>("/api/topology").then(setTopo, (e) => setErr(String(e)));
  }, []);
  if (err) return html`<p class="error">${err}</p>`;
  if (!topo) return html`<p>Loading the topology…</p>`;
  const links = ov?.links ?? topo.links;
  return html`
    <h2>Topology</h2>
        <${Graph} topo=${topo} ov=${ov} />
        <div class="cols">
      <section>
        <h3>Hosts</h3>
        <ul class="hosts">${topo.hosts.map((host) =>
          html`<li><a href=${`#/host/${
            encodeURIComponent(host.name)
          }`} data-host=${host.name}>${host.name}</a>${" "}
            <span class="muted">${
            host.ifaces.filter((i) => i.name !== "lo").map((i) =>
              `${i.name} ${i.addrs.filter((a) => a.family === 2).map((a) => a.addr).join(" ")}`
            ).join(", ")
          }</span></li>`
        )}</ul>
      </section>
      <section>
        <h3>Links</h3>
        <table><tr><th>link</th><th>state</th><th>rate</th><th>pkt/s</th><th>drops/s</th><th>lost</th><th>cables</th></tr>
            ${links.map((l) =>
              html`
                <tr>
                  <td><a href=${`#/link/${encodeURIComponent(l.name)}`} data-link=${l.name}>${l
                    .name}</a></td>
                  <td>${l.up ? "up" : "DOWN"}</td>
                  <td>${fmtRate(l.bps ?? 0)}</td>
                  <td>${(l.pps ?? 0).toFixed(0)}</td>
                  <td>${(l.dropsPerSec ?? 0).toFixed(0)}</td>
                  <td class="lost">${l.drops.lost}</td>
                  <td>${l.ports.map((p) => p.label).join(", ")}</td>
                </tr>
              `
            )}</table>
      </section>
    </div>
        <h3>TCP connections</h3>
        ${connTable(ov)}
  `;
}

/** The table of connections in the overview. */
export function connTable(ov?: Overview, host?: string) {
  const conns = (ov?.conns ?? []).filter((c) => !host || c.host === host);
  if (!conns.length) return html`<p class="muted">No TCP connection yet.</p>`;
  return html`
    <table
      class="conns"><tr><th>host</th><th>local</th><th>remote</th><th>state</th><th>cwnd</th><th>srtt</th><th>retrans</th></tr>
        ${conns.map((c) =>
          html`
            <tr>
              <td>${c.host}</td>
              <td><a href=${`#/conn/${encodeURIComponent(c.key)}`} class="conn">${c.local}</a></td>
              <td>${c.remote}</td>
              <td>${c.state}</td>
              <td>${c.last?.cwnd ?? ""}</td>
              <td>${c.last ? c.last.srtt.toFixed(1) + " ms" : ""}</td>
              <td>${c.retrans}</td>
            </tr>
          `
        )}</table>
  `;
}
