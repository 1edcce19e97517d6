/** file: URL ↔ path conversion (node:url would do, but this keeps the kernel dependency-free). */

/** A file URL for an absolute path. */
export function toFileUrl(path: string): URL {
  const u = new URL("file:///");
  u.pathname = path;
  return u;
}

/** The absolute path of a file URL. */
export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname);
}
