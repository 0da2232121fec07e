/**
 * A dump as a sequence of items: the unit in which writers, the server-side
 * chunker and output sinks exchange bytes. An `item` is bytes the server
 * writes as one unit (a record's fields); `filedata` is file content.
 * Producers may reuse a `filedata` buffer once the consumer asks for the next item.
 */
export type DumpItem = { kind: 'item'; data: Buffer } | { kind: 'filedata'; data: Buffer };

export function item(data: Buffer): DumpItem {
  return { kind: 'item', data };
}
