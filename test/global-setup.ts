// Builds native/ once before the tests (incremental: nothing to do when up to date).
import { buildNative } from '../harness/subject/build.js';

export default async function setup(): Promise<void> {
  await buildNative((line) => console.log(line));
}
