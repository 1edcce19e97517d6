/**
 * The cable between a device model and the rest of the world. A link (virtual switch, TAP
 * device, capture file) hands out ports; wrappers (fault injector, pcap sniffer) take a port and
 * return a port, so they stack in any order.
 *
 * Ownership: `send` hands the frame over; the sender must not touch it afterwards. A handler
 * receiving a frame owns it and may keep it.
 */
export interface LinkPort {
  /** Put one Ethernet frame (no FCS) on the cable. Never throws; a dead link drops and counts. */
  send(frame: Uint8Array): void;
  /** Register the single receiver of frames arriving from the cable (replaces any earlier one). */
  onFrame(handler: (frame: Uint8Array) => void): void;
  /**
   * Optional: register a callback run after each burst of frames given to the `onFrame` handler
   * (one message, or one drain of a shared ring), so the receiver can process the burst at once
   * instead of scheduling a wake-up of its own.
   */
  onBurstEnd?(callback: () => void): void;
  /**
   * Optional: frames the link itself lost, by reason ("link: rx-ring-full", ...), for the
   * interface counters: `rx` reasons were on their way in, `tx` ones on their way out.
   */
  linkDrops?(): Record<string, number>;
  /** Disconnect; later sends are dropped. */
  close(): void;
}
