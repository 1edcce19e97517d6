/** htm bound to Preact's `h`: JSX-like templates with no build step of their own. */
import { h, type VNode } from "preact";
import htm from "htm";

/** Tagged template producing Preact elements. */
export const html = (htm as unknown as {
  bind(f: typeof h): (s: TemplateStringsArray, ...v: unknown[]) => VNode;
}).bind(h);
