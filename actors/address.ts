/**
 * Where an actor lives: the small value a ref is made of.
 *
 * An address is plain data, so a ref can be sent in a message and rebuilt on another
 * thread or node. `incarnation` is the incarnation of the hosting *node*: a node restarted
 * under the same name gets a new one, and refs to the old one become dead letters.
 * Restarting an actor under its supervisor keeps its address (the ref stays valid).
 */
export interface Address {
  readonly node: string;
  readonly incarnation: number;
  readonly thread: number;
  readonly id: number;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.id === b.id && a.thread === b.thread && a.node === b.node && a.incarnation === b.incarnation;
}

export function formatAddress(a: Address): string {
  return `${a.node}#${a.incarnation}/t${a.thread}/${a.id}`;
}
