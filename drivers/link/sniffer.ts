/**
 * A tap on a cable: every frame that passes through the wrapped port, in either direction, is
 * shown to a sink (typically a pcap writer) with a timestamp, and then passed on unchanged.
 *
 * The sink sees the frame before it moves on and must copy it if it keeps it past the call.
 * A sink that throws is counted in `sinkErrors` and never breaks the link.
 *
 * @example
 * const port = withSniffer(nic, (frame, t, dir) => pcap.write(frame, t));
 */

import type { Clock } from "../../kernel/clock.ts";
import type { LinkPort } from "./port.ts";

/** Which way a sniffed frame was going: "out" = sent by our side, "in" = from the cable. */
export type SniffDirection = "in" | "out";

/** Receives every frame the sniffer sees. */
export type SniffSink = (frame: Uint8Array, timeMs: number, direction: SniffDirection) => void;

/** A sniffing port, with the count of sink calls that threw. */
export type SniffedPort = LinkPort & { readonly sinkErrors: number };

/** Milliseconds since the Unix epoch, the timestamp base pcap files use. */
const _epochClock: Pick<Clock, "now"> = { now: () => performance.timeOrigin + performance.now() };

/**
 * Wrap `port` so `sink` sees each frame sent through it ("out") and received from it ("in").
 * Timestamps come from `clock` (default: milliseconds since the Unix epoch).
 */
export function withSniffer(
  port: LinkPort,
  sink: SniffSink,
  clock: Pick<Clock, "now"> = _epochClock,
): SniffedPort {
  let handler: ((frame: Uint8Array) => void) | undefined;
  let sinkErrors = 0;
  const show = (frame: Uint8Array, dir: SniffDirection) => {
    try {
      sink(frame, clock.now(), dir);
    } catch {
      sinkErrors++;
    }
  };
  port.onFrame((frame) => {
    show(frame, "in");
    handler?.(frame);
  });
  return {
    get sinkErrors() {
      return sinkErrors;
    },
    send(frame: Uint8Array): void {
      show(frame, "out");
      port.send(frame);
    },
    onFrame(h: (frame: Uint8Array) => void): void {
      handler = h;
    },
    close(): void {
      handler = undefined;
      port.close();
    },
  };
}
