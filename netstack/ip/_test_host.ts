/**
 * A host for the IP layers' unit tests: a ManualClock, a loopback and an `eth0` (MTU 1500,
 * addresses left to the test), frames recorded instead of sent, counters in a map. It implements the
 * {@link IpHost} port the NetworkTask implements in production.
 */
import { ManualClock } from "../../kernel/clock.ts";
import { NetInterface } from "../link/interface.ts";
import type { IpHost } from "./ip_host.ts";

/** One frame an IP layer handed to its host. */
export interface SentFrame {
  iface: NetInterface;
  dstMac: Uint8Array;
  ethertype: number;
  payload: Uint8Array;
}

/** An {@link IpHost} that records what it is given. */
export class TestHost implements IpHost {
  readonly clock = new ManualClock(1000);
  readonly interfaces: NetInterface[] = [];
  readonly sent: SentFrame[] = [];
  readonly counters = new Map<string, number>();
  rearms = 0;
  /** What RA processing handed to {@link learnDnsFromRa}, in order. */
  readonly raDns: { kind: "servers" | "search"; values: string[]; lifetime: number }[] = [];

  constructor(opts: { mtu?: number } = {}) {
    const port = { send() {}, onFrame() {}, close() {} };
    const lo = new NetInterface(1, {
      name: "lo",
      driver: "loopback",
      mac: new Uint8Array(6),
      mtu: 65536,
      port,
      loopback: true,
    }, () => {});
    const eth0 = new NetInterface(2, {
      name: "eth0",
      driver: "test",
      mac: Uint8Array.of(2, 0, 0, 0, 0, 1),
      mtu: opts.mtu ?? 1500,
      port,
    }, () => {});
    this.interfaces.push(lo, eth0);
  }

  /** The `eth0` interface. */
  get eth0(): NetInterface {
    return this.interfaces[1];
  }

  iface(name: string): NetInterface | undefined {
    return this.interfaces.find((i) => i.name === name);
  }

  ifaceByIndex(index: number): NetInterface | undefined {
    return this.interfaces.find((i) => i.index === index);
  }

  sendFrame(iface: NetInterface, dstMac: Uint8Array, ethertype: number, payload: Uint8Array) {
    this.sent.push({ iface, dstMac: dstMac.slice(), ethertype, payload: payload.slice() });
  }

  count(key: string): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }

  learnDnsFromRa(kind: "servers" | "search", values: readonly string[], lifetime: number): void {
    this.raDns.push({ kind, values: [...values], lifetime });
  }

  rearm(): void {
    this.rearms++;
  }
}
