/** echo: the RFC 862 echo service on TCP and UDP (port 7 unless -p). */
import { recvmsg, sendto } from "../libc/mod.ts";
import { tool } from "./_args.ts";
import { sendAll } from "./_net.ts";
import { runService, type Service, serviceUsage } from "./_service.ts";

const echo: Service = {
  name: "echo",
  defaultPort: 7,
  async stream(fd) {
    for (;;) {
      const r = await recvmsg(fd, 65536);
      if (r.data.length === 0) return;
      await sendAll(fd, r.data);
    }
  },
  async datagram(fd, data, from) {
    if (from) await sendto(fd, data, from);
  },
};

export default tool("echo", serviceUsage(echo), (args) => runService(echo, args));
