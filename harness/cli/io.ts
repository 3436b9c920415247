// The terminal the CLI writes to: injected, so tests capture output and exit codes.
export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}
