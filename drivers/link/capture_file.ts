/**
 * A pcap file every wrapped cable writes to (`deno task run --pcap FILE`): frames are appended as
 * they cross, so the file opens in Wireshark while the system still runs.
 */
import { PcapWriter } from "../../netstack/wire/pcap.ts";
import type { LinkPort } from "./port.ts";
import { withSniffer } from "./sniffer.ts";
import { framesForMtu } from "./gso_segment.ts";

/** An open capture file. */
export interface Capture {
  /** Wrap a cable, capturing the frames crossing it in the given directions. */
  wrap(port: LinkPort, directions: ReadonlyArray<"in" | "out">): LinkPort;
  /** Frames written. */
  readonly frames: number;
  close(): void;
}

/** Create (truncate) `path` and return a capture writing to it. Needs write permission. */
export async function openCapture(path: string): Promise<Capture> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter({ sink: (chunk) => file.writeSync(chunk) });
  let frames = 0;
  return {
    wrap(port, directions) {
      return withSniffer(port, (frame, timeMs, direction) => {
        if (!directions.includes(direction)) return;
        // A TCP super-segment is written as the segments it stands for, as a capture on a
        // Linux NIC without GRO would show them.
        for (const f of frame.length > 1514 ? framesForMtu(frame, 1500) : [frame]) {
          frames++;
          writer.write(f, timeMs);
        }
      });
    },
    get frames() {
      return frames;
    },
    close() {
      file.close();
    },
  };
}
