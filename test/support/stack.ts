/**
 * One demo stack per e2e test file, on ports that do not clash with a running
 * `npm start` (8787/9400) or with another test file, state in a temporary dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/net.js';
import { startStack, type Stack, type StackWorkload, type WorkloadId } from '../../scripts/stack.js';
import { startRecordingHop, type RecordingHop } from './recording-hop.js';

export interface TestStackOptions {
  /** Put a recording hop between the gateway and this workload's guard. */
  recordingHop?: WorkloadId;
  /** Echo the gateway's and guards' output (also kept in <dir>/logs). */
  verbose?: boolean;
}

export interface TestStack extends Stack {
  hop?: RecordingHop;
  workload(id: WorkloadId): StackWorkload;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'));
  let hop: RecordingHop | undefined;
  const verbose = options.verbose ?? process.env.TOLLGATE_E2E_VERBOSE === '1';
  try {
    const stack = await startStack({
      dir,
      gatewayPort: await freePort(),
      idpPort: 0,
      interpose: options.recordingHop
        ? {
          workload: options.recordingHop,
          start: async (guard) => {
            hop = await startRecordingHop(guard);
            return { url: hop.url, close: () => hop!.close() };
          },
        }
        : undefined,
      onOutput: verbose ? (name, line) => process.stderr.write(`[${name}] ${line}\n`) : undefined,
    });
    return {
      ...stack,
      hop,
      workload: (id) => {
        const w = stack.workloads.find((x) => x.id === id);
        if (!w) throw new Error(`no workload ${id}`);
        return w;
      },
      close: async () => {
        await stack.close();
        if (process.env.TOLLGATE_E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    // Keep the logs of a stack that failed to start; say where they are.
    throw new Error(`${(err as Error).message}\n(stack state and logs kept in ${dir})`);
  }
}
