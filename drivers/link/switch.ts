/**
 * A learning virtual Ethernet switch (IEEE 802.1D transparent bridging without spanning tree).
 *
 * Each frame entering a port teaches the switch that its source MAC lives behind that port. A
 * frame to a learned unicast MAC goes to that port only; unknown unicast, broadcast and
 * multicast frames flood to every other port. Nothing is ever sent back out of the port it
 * came in on. Entries age out after `agingMs` without traffic, and the table holds at most
 * `maxMacEntries` entries: when full, the least recently seen entry is evicted, so a flood of
 * random source MACs cannot grow it.
 *
 * Counters are from the switch's side of each port: rx = frames the attached device sent into
 * the switch, tx = frames the switch handed to the device.
 *
 * @example
 * const sw = new VirtualSwitch({ clock });
 * const a = sw.connect(), b = sw.connect();
 * b.onFrame((f) => console.log("b got", f.length));
 * a.send(frame);
 */

import { type Clock, RealClock } from "../../kernel/clock.ts";
import type { LinkPort } from "./port.ts";
import { DeliveryQueue } from "./_delivery_queue.ts";

/** Ethernet header length: destination, source, EtherType. */
const ETH_HEADER_LEN = 14;
const ETH_DST = 0;
const ETH_SRC = 6;

/** Why a switch port dropped a frame. */
export type SwitchDropReason =
  | "runt" // shorter than an Ethernet header
  | "oversize" // longer than maxFrameBytes
  | "badSource" // multicast/broadcast source MAC
  | "closed" // sent on a closed port
  | "queueFull" // delivery queue full
  | "sameSegment" // destination learned on the ingress port: filtered
  | "noHandler"; // egress port has no receiver registered

/** Counters of one switch port (see the module comment for rx/tx direction). */
export interface SwitchPortStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  drops: Record<SwitchDropReason, number>;
}

/** A port of a {@link VirtualSwitch}. */
export interface SwitchPort extends LinkPort {
  /** Port number, unique within its switch, starting at 0. */
  readonly id: number;
  /** Live counters. */
  readonly stats: Readonly<SwitchPortStats>;
}

/** Options for {@link VirtualSwitch}; every field has a default. */
export interface SwitchOptions {
  /** Time source for aging and long drains. Default: a RealClock. */
  clock?: Clock;
  /** An entry not refreshed for this long is forgotten. Default 300,000 ms (802.1D). */
  agingMs?: number;
  /** Maximum MAC table entries. Default 4096. */
  maxMacEntries?: number;
  /** Frames waiting for delivery before new ones are dropped. Default 4096. */
  queueLimit?: number;
  /** Longest frame accepted, in bytes without FCS. Default 65,550. */
  maxFrameBytes?: number;
}

/** One learned MAC, as reported by {@link VirtualSwitch.macTable}. */
export interface MacEntry {
  /** "aa:bb:cc:dd:ee:ff". */
  mac: string;
  /** Port id the MAC was last seen on. */
  port: number;
  /** Milliseconds since it was last seen. */
  ageMs: number;
}

interface _Entry {
  port: number;
  seen: number;
}

class _Port implements SwitchPort {
  handler: ((frame: Uint8Array) => void) | undefined;
  closed = false;
  readonly stats: SwitchPortStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    drops: {
      runt: 0,
      oversize: 0,
      badSource: 0,
      closed: 0,
      queueFull: 0,
      sameSegment: 0,
      noHandler: 0,
    },
  };

  constructor(readonly id: number, private readonly sw: VirtualSwitch) {}

  send(frame: Uint8Array): void {
    this.sw._ingress(this, frame);
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.sw._detach(this);
  }

  deliver(frame: Uint8Array): void {
    const h = this.handler;
    if (!h) {
      this.stats.drops.noHandler++;
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    h(frame);
  }
}

/** A learning Ethernet switch handing out {@link SwitchPort}s (see the module comment). */
export class VirtualSwitch {
  readonly #clock: Clock;
  readonly #agingMs: number;
  readonly #maxEntries: number;
  readonly #maxFrame: number;
  readonly #queue: DeliveryQueue;
  readonly #ports = new Map<number, _Port>();
  /** MAC (48-bit number) → entry, kept in least-recently-seen-first order. */
  readonly #table = new Map<number, _Entry>();
  #nextId = 0;
  /** Entries evicted because the table was full. */
  evictions = 0;

  constructor(opts: SwitchOptions = {}) {
    this.#clock = opts.clock ?? new RealClock();
    this.#agingMs = opts.agingMs ?? 300_000;
    this.#maxEntries = Math.max(1, opts.maxMacEntries ?? 4096);
    this.#maxFrame = opts.maxFrameBytes ?? 65_550;
    this.#queue = new DeliveryQueue(this.#clock, { limit: opts.queueLimit });
  }

  /** Plug a new cable into the switch and return its far end. */
  connect(): SwitchPort {
    const port = new _Port(this.#nextId++, this);
    this.#ports.set(port.id, port);
    return port;
  }

  /** Number of connected (not closed) ports. */
  get portCount(): number {
    return this.#ports.size;
  }

  /** Number of MAC table entries, expired ones not yet swept included. */
  get macTableSize(): number {
    return this.#table.size;
  }

  /** The port id a MAC ("aa:bb:cc:dd:ee:ff" or 6 bytes) is currently learned on, if any. */
  lookup(mac: string | Uint8Array): number | undefined {
    const key = typeof mac === "string" ? _parseMac(mac) : _macKey(mac, 0);
    if (key === undefined) return undefined;
    return this.#live(key)?.port;
  }

  /** A snapshot of the live (not expired) MAC table, least recently seen first. */
  macTable(): MacEntry[] {
    this.#sweep();
    const now = this.#clock.now();
    return [...this.#table].map(([key, e]) => ({
      mac: _formatMac(key),
      port: e.port,
      ageMs: now - e.seen,
    }));
  }

  /** Internal: a frame sent by the device on `port`. */
  _ingress(port: _Port, frame: Uint8Array): void {
    const drops = port.stats.drops;
    if (port.closed) {
      drops.closed++;
      return;
    }
    if (frame.length < ETH_HEADER_LEN) {
      drops.runt++;
      return;
    }
    if (frame.length > this.#maxFrame) {
      drops.oversize++;
      return;
    }
    if (frame[ETH_SRC] & 1) {
      drops.badSource++;
      return;
    }
    if (!this.#queue.push(() => this.#forward(port, frame))) {
      drops.queueFull++;
      return;
    }
    port.stats.rxFrames++;
    port.stats.rxBytes += frame.length;
  }

  /** Internal: forget a closed port and everything learned on it. */
  _detach(port: _Port): void {
    this.#ports.delete(port.id);
    for (const [key, e] of this.#table) if (e.port === port.id) this.#table.delete(key);
  }

  #forward(from: _Port, frame: Uint8Array): void {
    if (from.closed) return; // closed while the frame waited; it simply never left
    this.#learn(_macKey(frame, ETH_SRC), from.id);
    if (!(frame[ETH_DST] & 1)) {
      const e = this.#live(_macKey(frame, ETH_DST));
      if (e) {
        if (e.port === from.id) {
          from.stats.drops.sameSegment++;
          return;
        }
        const to = this.#ports.get(e.port);
        if (to) {
          to.deliver(frame);
          return;
        }
      }
    }
    // Flood. Every receiver owns its frame, so all but the last get a copy.
    const targets: _Port[] = [];
    for (const p of this.#ports.values()) if (p !== from) targets.push(p);
    for (let i = 0; i < targets.length; i++) {
      targets[i].deliver(i === targets.length - 1 ? frame : frame.slice());
    }
  }

  #learn(key: number, port: number): void {
    const now = this.#clock.now();
    const e = this.#table.get(key);
    if (e) {
      // Re-insert so the map stays ordered by last sighting.
      this.#table.delete(key);
      e.port = port;
      e.seen = now;
      this.#table.set(key, e);
      return;
    }
    this.#sweep();
    if (this.#table.size >= this.#maxEntries) {
      const oldest = this.#table.keys().next().value;
      if (oldest !== undefined) this.#table.delete(oldest);
      this.evictions++;
    }
    this.#table.set(key, { port, seen: now });
  }

  #live(key: number): _Entry | undefined {
    const e = this.#table.get(key);
    if (!e) return undefined;
    if (this.#clock.now() - e.seen >= this.#agingMs) {
      this.#table.delete(key);
      return undefined;
    }
    return e;
  }

  /** Drop expired entries; they sit at the front because the map is ordered by last sighting. */
  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, e] of this.#table) {
      if (now - e.seen < this.#agingMs) break;
      this.#table.delete(key);
    }
  }
}

/** The 6 bytes at `off` as one 48-bit number (exact in a double). */
function _macKey(b: Uint8Array, off: number): number {
  const high = b[off] * 0x100 + b[off + 1];
  const low = ((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0;
  return high * 0x1_0000_0000 + low;
}

function _parseMac(s: string): number | undefined {
  const parts = s.split(":");
  if (parts.length !== 6) return undefined;
  let key = 0;
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{2}$/.test(p)) return undefined;
    key = key * 256 + parseInt(p, 16);
  }
  return key;
}

function _formatMac(key: number): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) {
    out.push((Math.floor(key / 2 ** (8 * i)) % 256).toString(16).padStart(2, "0"));
  }
  return out.join(":");
}
