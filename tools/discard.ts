/** discard: the RFC 863 discard service on TCP and UDP (port 9 unless -p). */
import { recvmsg } from "../libc/mod.ts";
import { tool } from "./_args.ts";
import { runService, type Service, serviceUsage } from "./_service.ts";

const discard: Service = {
  name: "discard",
  defaultPort: 9,
  async stream(fd) {
    while ((await recvmsg(fd, 65536)).data.length > 0) {
      // Everything received is thrown away.
    }
  },
  async datagram() {},
};

export default tool("discard", serviceUsage(discard), (args) => runService(discard, args));
