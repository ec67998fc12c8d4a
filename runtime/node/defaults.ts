/**
 * Node-level defaults.
 */
export const DEFAULTS = {
  /** Node name when none is given. */
  nodeName: 'apiary',
} as const;
