/**
 * The links of a system as the hardware worker holds them, changeable while frames flow: what
 * `ip link set DEV up|down` and `tc qdisc change dev DEV root netem …` do on Linux. A link is a
 * virtual switch or a TAP uplink; every cable plugged into it passes through
 *
 *     host ⇄ recorder ⇄ carrier gate ⇄ fault injector ⇄ switch port / TAP
 *
 * - the fault injector (faults.ts) impairs frames on their way from a host onto a switch (each
 *   frame crosses the link once, so it meets the link's faults once), and both ways on a TAP;
 *   with no fault set it passes frames straight on;
 * - the carrier gate drops every frame while the link is down, and tells the NIC models on the
 *   link, so hosts see the link state change (`ifconfig` shows no RUNNING);
 * - the recorder keeps the link's recent frames (cut at {@link SNAP_BYTES}) in a bounded ring
 *   only while someone asks for them (a watch lasts {@link WATCH_MS} after the last ask), so a
 *   link nobody watches pays one comparison per frame.
 *
 * @example
 * const links = new LinkTable(clock);
 * const cable = links.plug("lan", "alpha/eth0", sw.connect(), "switch");
 * links.set({ op: "linkset", link: "lan", faults: { loss: 0.05, delayMs: 20 } });
 */
import type { Clock } from "../../kernel/clock.ts";
import type { LinkCtl, LinkFaults, LinkFrame, LinkInfo } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import { type FaultOptions, type FaultyPort, validateFaultOptions, withFaults } from "./faults.ts";
import type { LinkPort } from "./port.ts";

/** Bytes of each recorded frame kept: a whole Ethernet frame (GSO super-frames are cut). */
export const SNAP_BYTES = 1518;
/** Frames a link's recording keeps (at most about 6 MB). */
export const RING_FRAMES = 4096;
/** A recording stops this long after the last `linkframes` call. */
export const WATCH_MS = 10_000;
/** Most frames one `linkframes` call returns. */
const MAX_FRAMES_PER_CALL = 4096;

/** The fields of {@link LinkFaults}, with their kind, for validation. */
const FAULT_FIELDS: Record<keyof LinkFaults, "prob" | "ms" | "rate"> = {
  loss: "prob",
  geP: "prob",
  geR: "prob",
  dup: "prob",
  reorder: "prob",
  corrupt: "prob",
  delayMs: "ms",
  jitterMs: "ms",
  rateBitsPerSec: "rate",
};

interface _Cable {
  label: string;
  faults: FaultyPort;
  tx: { frames: number; bytes: number };
  rx: { frames: number; bytes: number };
}

interface _Link {
  name: string;
  kind: "switch" | "tap";
  up: boolean;
  controllable: boolean;
  faults: LinkFaults;
  /** The boot's --faults spec, applied both ways until the link is first changed. */
  bootFaults?: FaultOptions;
  cables: _Cable[];
  carrier: Array<(up: boolean) => void>;
  downDrops: number;
  ring: LinkFrame[];
  nextSeq: number;
  watchUntil: number;
}

/** Every link of a system, by name (see the module comment). */
export class LinkTable {
  readonly #clock: Clock;
  readonly #links = new Map<string, _Link>();
  readonly #epoch: () => number;

  constructor(
    clock: Clock,
    epochMs: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    this.#clock = clock;
    this.#epoch = epochMs;
  }

  /**
   * Plug a cable (`far`: the switch port or TAP) into link `name` for interface `label`; the
   * returned port is the host's end. `bootFaults` is the boot's `--faults` (both directions).
   */
  plug(
    name: string,
    label: string,
    far: LinkPort,
    kind: "switch" | "tap",
    bootFaults?: FaultOptions,
  ): LinkPort {
    const link = this.#link(name, kind, true, bootFaults);
    const faults = withFaults(far, bootFaults ?? {}, this.#clock);
    const cable: _Cable = {
      label,
      faults,
      tx: { frames: 0, bytes: 0 },
      rx: { frames: 0, bytes: 0 },
    };
    link.cables.push(cable);
    let handler: ((frame: Uint8Array) => void) | undefined;
    faults.onFrame((frame) => {
      if (!link.up) return void link.downDrops++;
      cable.rx.frames++;
      cable.rx.bytes += frame.length;
      if (kind === "tap") this.#record(link, label, "in", frame);
      handler?.(frame);
    });
    return {
      send: (frame) => {
        if (!link.up) return void link.downDrops++;
        cable.tx.frames++;
        cable.tx.bytes += frame.length;
        this.#record(link, label, "out", frame);
        faults.send(frame);
      },
      onFrame: (h) => {
        handler = h;
      },
      close: () => faults.close(),
    };
  }

  /** Register a TAP on its fast path (no cable passes here): shown, not changeable. */
  plugFast(name: string, label: string): void {
    const link = this.#link(name, "tap", false);
    link.cables.push({
      label,
      faults: undefined as unknown as FaultyPort,
      tx: { frames: 0, bytes: 0 },
      rx: { frames: 0, bytes: 0 },
    });
  }

  /** Tell `onCarrier` when link `name` goes up or down (a NIC model's `setLink`). */
  watchCarrier(name: string, onCarrier: (up: boolean) => void): void {
    this.#links.get(name)?.carrier.push(onCarrier);
  }

  /** Serve one link control request. Throws ErrnoError (ENODEV, EINVAL, EOPNOTSUPP). */
  serve(req: LinkCtl): unknown {
    switch (req?.op) {
      case "links":
        return [...this.#links.values()].map((l) => this.#info(l));
      case "linkset":
        return this.set(req), null;
      case "linkframes":
        return this.frames(req.link, req.since, req.max, req.snap);
      default: {
        const never: never = req;
        throw new ErrnoError("ENOSYS", `Unknown link request ${(never as { op?: string })?.op}`);
      }
    }
  }

  /** `link set`: change faults and carrier (see {@link LinkCtl}). */
  set(req: Extract<LinkCtl, { op: "linkset" }>): void {
    const link = this.#named(req.link);
    if (req.up !== undefined && typeof req.up !== "boolean") {
      throw new ErrnoError("EINVAL", `Bad carrier state ${String(req.up)}: up or down`);
    }
    const change = req.faults === undefined ? undefined : checkLinkFaults(req.faults);
    if ((change || req.clear) && !link.controllable) {
      throw new ErrnoError(
        "EOPNOTSUPP",
        `Cannot change link ${link.name}: a TAP on its fast path (boot with --faults or --pcap)`,
      );
    }
    if (change || req.clear) {
      const next: LinkFaults = req.clear ? {} : { ...link.faults };
      for (const [k, v] of Object.entries(change ?? {}) as Array<[keyof LinkFaults, number]>) {
        if (v === 0) delete next[k];
        else next[k] = v;
      }
      if (next.geR !== undefined && next.geP === undefined) {
        throw new ErrnoError("EINVAL", "Bad faults: gemodel needs p (good to bad) as well as r");
      }
      const opts: FaultOptions = { ...next };
      try {
        validateFaultOptions(opts);
      } catch (err) {
        throw new ErrnoError("EINVAL", (err as Error).message);
      }
      link.faults = next;
      link.bootFaults = undefined;
      for (const c of link.cables) {
        if (link.kind === "tap") c.faults.configure(opts);
        else c.faults.configure(opts, {});
      }
    }
    if (req.up !== undefined && req.up !== link.up) {
      if (!link.controllable) {
        throw new ErrnoError("EOPNOTSUPP", `Cannot change link ${link.name}: a fast-path TAP`);
      }
      link.up = req.up;
      for (const cb of link.carrier) cb(req.up);
    }
  }

  /** Recent frames of `name` after `since`, and (re)start its recording. */
  frames(
    name: string,
    since = 0,
    max = 512,
    snap = SNAP_BYTES,
  ): { frames: LinkFrame[]; next: number } {
    const link = this.#named(name);
    if (!Number.isSafeInteger(since) || since < 0) {
      throw new ErrnoError("EINVAL", `Bad frame sequence number ${since}`);
    }
    if (!Number.isSafeInteger(max) || max < 1 || max > MAX_FRAMES_PER_CALL) {
      throw new ErrnoError("EINVAL", `Bad frame count ${max}: 1 to ${MAX_FRAMES_PER_CALL}`);
    }
    if (!Number.isSafeInteger(snap) || snap < 1) throw new ErrnoError("EINVAL", `Bad snap ${snap}`);
    link.watchUntil = this.#clock.now() + WATCH_MS;
    const ring = link.ring;
    let i = ring.length;
    while (i > 0 && ring[i - 1].seq > since) i--;
    const out = ring.slice(Math.max(i, ring.length - max));
    const cut = snap < SNAP_BYTES
      ? out.map((f) => ({ ...f, data: f.data.subarray(0, snap) }))
      : out;
    return { frames: cut, next: link.nextSeq - 1 };
  }

  #record(link: _Link, port: string, dir: "in" | "out", frame: Uint8Array): void {
    if (link.watchUntil === 0) return;
    if (this.#clock.now() > link.watchUntil) {
      link.watchUntil = 0;
      link.ring = [];
      return;
    }
    link.ring.push({
      seq: link.nextSeq++,
      time: this.#epoch(),
      port,
      dir,
      data: frame.slice(0, SNAP_BYTES),
      len: frame.length,
    });
    if (link.ring.length > RING_FRAMES) link.ring.splice(0, link.ring.length - RING_FRAMES);
  }

  #named(name: unknown): _Link {
    const link = typeof name === "string" ? this.#links.get(name) : undefined;
    if (!link) {
      const known = [...this.#links.keys()].join(", ");
      const shown = typeof name === "string" ? name.slice(0, 64) : `(a ${typeof name})`;
      throw new ErrnoError("ENODEV", `No link named ${shown} (links: ${known})`);
    }
    return link;
  }

  #link(name: string, kind: "switch" | "tap", controllable: boolean, boot?: FaultOptions): _Link {
    let link = this.#links.get(name);
    if (!link) {
      link = {
        name,
        kind,
        up: true,
        controllable,
        faults: {},
        bootFaults: boot,
        cables: [],
        carrier: [],
        downDrops: 0,
        ring: [],
        nextSeq: 1,
        watchUntil: 0,
      };
      this.#links.set(name, link);
    }
    return link;
  }

  #info(l: _Link): LinkInfo {
    const drops = {
      lost: 0,
      duplicated: 0,
      reordered: 0,
      corrupted: 0,
      rateDropped: 0,
      down: l.downDrops,
    };
    for (const c of l.cables) {
      if (!c.faults) continue;
      for (const d of [c.faults.stats.out, c.faults.stats.in]) {
        drops.lost += d.lost;
        drops.duplicated += d.duplicated;
        drops.reordered += d.reordered;
        drops.corrupted += d.corrupted;
        drops.rateDropped += d.rateDropped;
      }
    }
    const boot = l.bootFaults;
    const faults: LinkFaults = boot
      ? Object.fromEntries(
        Object.keys(FAULT_FIELDS).flatMap((k) => {
          const v = boot[k as keyof FaultOptions];
          return v ? [[k, v]] : [];
        }),
      )
      : { ...l.faults };
    return {
      name: l.name,
      kind: l.kind,
      up: l.up,
      controllable: l.controllable,
      faults,
      ports: l.cables.map((c) => ({
        label: c.label,
        txFrames: c.tx.frames,
        txBytes: c.tx.bytes,
        rxFrames: c.rx.frames,
        rxBytes: c.rx.bytes,
      })),
      drops,
    };
  }
}

/**
 * Check an untrusted {@link LinkFaults}: an object of known fields, each a finite number in
 * range (probabilities 0..1, times 0..60 s, rates up to 100 Gbit/s). Throws ErrnoError EINVAL.
 */
export function checkLinkFaults(f: unknown): LinkFaults {
  if (typeof f !== "object" || f === null || Array.isArray(f)) {
    throw new ErrnoError("EINVAL", "Bad faults: expected an object");
  }
  const out: LinkFaults = {};
  for (const [k, v] of Object.entries(f)) {
    if (!Object.hasOwn(FAULT_FIELDS, k)) {
      throw new ErrnoError(
        "EINVAL",
        `Bad faults: unknown field ${k} (known: ${Object.keys(FAULT_FIELDS).join(", ")})`,
      );
    }
    const kind = FAULT_FIELDS[k as keyof LinkFaults];
    const ok = typeof v === "number" && Number.isFinite(v) && v >= 0 &&
      (kind === "prob" ? v <= 1 : kind === "ms" ? v <= 60_000 : v <= 100e9);
    if (!ok) {
      const range = kind === "prob" ? "0% to 100%" : kind === "ms" ? "0 to 60 s" : "0 to 100gbit";
      throw new ErrnoError("EINVAL", `Bad faults: ${k} ${JSON.stringify(v)} is not in ${range}`);
    }
    out[k as keyof LinkFaults] = v;
  }
  return out;
}
