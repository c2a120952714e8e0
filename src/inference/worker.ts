/**
 * worker_threads entry: hosts one SegmentationEngine so model inference never blocks the
 * main thread's WebRTC/event loop. Started by InferenceWorker (inferenceWorker.ts) with
 * workerData = EngineOptions; speaks the small typed messages below. Messages are handled
 * one at a time, in order (the engine is synchronous).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SegmentationEngine, type EngineMemory } from './engine.js';
import type { BackendAttempt, EngineInfo, EngineOptions, SegmentResult } from './types.js';

/** Main thread → worker. `id` pairs a reply with its request. */
export type WorkerRequest =
  /** rgb's ArrayBuffer is transferred. Sessions are opened lazily on their first frame. */
  | { readonly type: 'process'; readonly id: number; readonly sessionId: string; readonly rgb: Uint8Array }
  | { readonly type: 'closeSession'; readonly sessionId: string }
  | { readonly type: 'memory'; readonly id: number }
  | { readonly type: 'close'; readonly id: number }
  /** Tests only: the worker throws from its message handler, i.e. dies like on a real bug. */
  | { readonly type: 'crashForTesting' };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
}

/** Worker → main thread. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly info: EngineInfo; readonly backendAttempts: readonly BackendAttempt[] }
  | { readonly type: 'initError'; readonly error: SerializedError }
  /** result.mask's ArrayBuffer is transferred. */
  | { readonly type: 'result'; readonly id: number; readonly result: SegmentResult }
  | { readonly type: 'memory'; readonly id: number; readonly memory: EngineMemory }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError }
  | { readonly type: 'closed'; readonly id: number };

export class WorkerCrashForTestingError extends Error {
  override readonly name = 'WorkerCrashForTestingError';
}

function serialize(e: unknown): SerializedError {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const send = (msg: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

  let engine: SegmentationEngine;
  try {
    engine = await SegmentationEngine.create(workerData as EngineOptions);
  } catch (e) {
    send({ type: 'initError', error: serialize(e) });
    port.close(); // lets the thread exit: nothing else keeps it alive
    return;
  }

  port.on('message', (msg: WorkerRequest) => {
    switch (msg.type) {
      case 'process':
        try {
          if (!engine.hasSession(msg.sessionId)) engine.openSession(msg.sessionId);
          const result = engine.process(msg.sessionId, msg.rgb);
          send({ type: 'result', id: msg.id, result }, [result.mask.buffer as ArrayBuffer]);
        } catch (e) {
          send({ type: 'error', id: msg.id, error: serialize(e) });
        }
        return;
      case 'closeSession':
        engine.closeSession(msg.sessionId);
        return;
      case 'memory':
        send({ type: 'memory', id: msg.id, memory: engine.memory() });
        return;
      case 'close':
        engine.close();
        send({ type: 'closed', id: msg.id });
        port.close();
        return;
      case 'crashForTesting':
        throw new WorkerCrashForTestingError('inference worker crashed on request (crashForTesting message, tests only)');
    }
  });
  send({ type: 'ready', info: engine.info, backendAttempts: engine.backendAttempts });
}

if (isMainThread || !parentPort) {
  throw new Error('src/inference/worker.ts is a worker_threads entry; start it through InferenceWorker.start()');
}
void main();
