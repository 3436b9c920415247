// Types of harness/core/bundle.mjs (plain JavaScript: scripts/run-ts.mjs needs it before any TypeScript can run).
export declare function bundle(entry: string): Promise<Uint8Array>;
export declare function writeAtomically(path: string, code: Uint8Array): void;
