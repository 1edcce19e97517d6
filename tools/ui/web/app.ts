/**
 * The web view's page (bundled by tools/ui/bundle.ts, served by tools/ui/server.ts). Preact and
 * htm draw the UI, Cytoscape.js lays out the topology, uPlot draws every time series. Views, by
 * URL hash: `#/` topology, `#/host/NAME`, `#/link/NAME`, `#/conn/KEY`.
 */
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.ts";
import { connView } from "./conn_view.ts";
import { linkView } from "./link_view.ts";
import { hostView } from "./host_view.ts";
import { topologyView } from "./topology_view.ts";
import { api, type Overview } from "./api.ts";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function useOverview(): Overview | undefined {
  const [ov, setOv] = useState<Overview>();
  const es = useRef<EventSource | undefined>(undefined);
  useEffect(() => {
    const open = () => {
      es.current = new EventSource(api("/api/events"));
      es.current.onmessage = (e) => setOv(JSON.parse(e.data));
    };
    open();
    return () => es.current?.close();
  }, []);
  return ov;
}

function App() {
  const hash = useHash();
  const ov = useOverview();
  const [, view, ...rest] = hash.split("/");
  const arg = decodeURIComponent(rest.join("/"));
  let body;
  if (view === "host") body = hostView(arg, ov);
  else if (view === "link") body = linkView(arg, ov);
  else if (view === "conn") body = connView(arg);
  else body = topologyView(ov);
  return html`
    <header>
      <a href="#/"><b>Serin</b></a>
      <span class="muted">${ov
        ? `${ov.conns.length} connections, ${ov.links.length} links`
        : "connecting…"}</span>
    </header>
    <main>${body}</main>
  `;
}

const root = document.getElementById("app")!;
root.textContent = "";
render(html`<${App} />`, root);
