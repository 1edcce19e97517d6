/** What the page fetches, with the token, and the shapes it gets (tools/ui/server.ts). */

/** The token the server put in the page. */
const TOKEN = (globalThis as unknown as { SERIN_TOKEN: string }).SERIN_TOKEN;

/** The URL of an API path with the token. */
import type { ConnSample } from "../sampler.ts";
export function api(path: string, params: Record<string, string | number> = {}): string {
  const q = new URLSearchParams({ ...params as Record<string, string>, t: TOKEN });
  return `${path}?${q}`;
}

/** GET an API path as JSON; throws with the server's error message. */
export async function getJson<T>(
  path: string,
  params: Record<string, string | number> = {},
): Promise<T> {
  const r = await fetch(api(path, params));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
  return body as T;
}

/** POST JSON; resolves to the error message or undefined. */
export async function postJson(path: string, value: unknown): Promise<string | undefined> {
  const r = await fetch(api(path), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value),
  });
  if (r.ok) return undefined;
  const body = await r.json().catch(() => ({}));
  return body.error ?? `HTTP ${r.status}`;
}

/** A link in the overview. */
export interface LinkView {
  name: string;
  kind: "switch" | "tap";
  up: boolean;
  controllable: boolean;
  faults: Record<string, number>;
  ports: Array<
    { label: string; txFrames: number; txBytes: number; rxFrames: number; rxBytes: number }
  >;
  drops: Record<string, number>;
  pps: number;
  bps: number;
  dropsPerSec: number;
}

/** A connection in the overview. */
export interface ConnSummary {
  key: string;
  host: string;
  local: string;
  remote: string;
  state: string;
  pids: number[];
  retrans: number;
  last?: Sample;
}

/** One TCP_INFO sample, as the server's sampler keeps it (a type only: nothing of it is bundled). */
export type Sample = ConnSample;

/** What the server pushes every 250 ms. */
export interface Overview {
  time: number;
  links: LinkView[];
  conns: ConnSummary[];
}

/** A rate in bit/s, short. */
export function fmtRate(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(1)} kbit/s`;
  return `${bps.toFixed(0)} bit/s`;
}
