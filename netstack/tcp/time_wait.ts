/**
 * The TIME-WAIT budget of one host, as Linux's tcp_death_row with net.ipv4.tcp_max_tw_buckets:
 * at most `max` connections wait out 2*MSL at once. A connection that would enter TIME-WAIT
 * while the budget is spent closes at once instead (Linux's tcp_time_wait when
 * inet_twsk_alloc fails, counted as TCPTimeWaitOverflow), so TIME-WAIT never fills the
 * connection table and keeps new connections out.
 */

/**
 * TIME-WAIT buckets per host. Linux sizes tcp_max_tw_buckets from memory (262144 on a 4 GiB
 * machine); Serin's hosts hold at most 65536 connections, so 4096 keeps the table mostly free.
 */
export const DEFAULT_MAX_TIME_WAIT = 4096;

/** Counts the connections in TIME-WAIT on one host and refuses more than `max`. */
export class TimeWaitBuckets {
  /** Connections in TIME-WAIT now. */
  count = 0;
  /** Connections that closed at once because the budget was spent (TCPTimeWaitOverflow). */
  overflows = 0;

  /** A budget of `max` buckets; `report` is told after every change (for netstat's stats). */
  constructor(
    readonly max = DEFAULT_MAX_TIME_WAIT,
    private readonly report?: (buckets: TimeWaitBuckets) => void,
  ) {}

  /** A connection wants to enter TIME-WAIT: true if it may (it then holds a bucket). */
  take(): boolean {
    const ok = this.count < this.max;
    if (ok) this.count++;
    else this.overflows++;
    this.report?.(this);
    return ok;
  }

  /** A connection left TIME-WAIT: its bucket is free again. */
  give(): void {
    if (this.count > 0) this.count--;
    this.report?.(this);
  }
}
