// Entry point of a GeoTIFF decode worker (bundled to dist/geotiff-worker.cjs; geotiff-pool.ts starts it): decodes
// the blocks the pool posts with the same code the calling thread uses (geotiff-block.ts) and posts back the pixels,
// or the block's error message. Decoders are kept per image (its parameters), a few dozen at most.
import { parentPort } from 'node:worker_threads';
import { BlockError, decodeBlockJob, type BlockJob, type Decoder } from './geotiff-block';
import { blockDecoder, inflateOnCallingThread } from './geotiff-decoders';
import type { PoolReply, PoolRequest } from './geotiff-pool';

const MAX_DECODERS = 32;
const decoders = new Map<string, Promise<Decoder>>();

function decoderFor(job: BlockJob, key: string): Promise<Decoder> {
  let d = decoders.get(key);
  if (!d) {
    d = blockDecoder(job.compression, job.params);
    decoders.set(key, d);
    d.catch(() => decoders.delete(key));
    if (decoders.size > MAX_DECODERS) decoders.delete(decoders.keys().next().value!);
  }
  return d;
}

async function handle(req: PoolRequest): Promise<void> {
  const port = parentPort!;
  try {
    const decoder = req.job.compression === 1 ? null : await decoderFor(req.job, req.decoderKey);
    const pixels = await decodeBlockJob(req.job, decoder);
    const reply: PoolReply = { id: req.id, pixels };
    port.postMessage(reply, [pixels.buffer as ArrayBuffer]);
  } catch (err) {
    const blockError = err instanceof BlockError;
    const message = blockError ? err.message : `corrupt or undecodable ${req.job.compressionName} block ${req.job.index} (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    const reply: PoolReply = { id: req.id, error: message };
    port.postMessage(reply);
  }
}

if (parentPort) {
  // This thread is the parallelism: zlib's shared pool would only add a hop.
  inflateOnCallingThread();
  parentPort.on('message', (req: PoolRequest) => void handle(req));
}
