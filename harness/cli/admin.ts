// `lab admin <port> <command...>`: one admin command to a relay started by hand; prints its
// JSON answer.
import { ExitCode, LabError } from '../core/errors.js';
import { AdminClient } from '../subjects/protocol/client.js';
import type { Io } from './io.js';

export async function adminCommand(port: number, command: string, io: Io): Promise<number> {
  let client: AdminClient;
  try {
    client = await AdminClient.open(port);
  } catch (err) {
    throw new LabError('badFlag', { flag: '<port>', value: String(port), valid: `the admin_port of a running relay (${(err as Error).message})` });
  }
  try {
    const reply = await client.command<Record<string, unknown>>(command);
    io.stdout.write(JSON.stringify(reply, null, 2) + '\n');
    return reply.ok === true ? ExitCode.ok : ExitCode.usage;
  } finally {
    client.close();
  }
}
