/**
 * The IPv6 routes of one host: the shared {@link RoutingTable6} (connected, static and
 * RA-learned routes with expiry). Path MTUs live in the shared path MTU cache
 * (`ip/pmtu_cache.ts`).
 */
import { type RouteTableOptions, RoutingTable6 } from "./routing6.ts";

/** The IPv6 routing table of one host. */
export class Routes6 extends RoutingTable6 {
  constructor(opts: Partial<RouteTableOptions> = {}) {
    super(opts);
  }
}
