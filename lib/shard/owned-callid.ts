// Call-IDs for requests a shard originates itself (line REGISTERs, OPTIONS pings): the main thread
// sends every message to shardFor(Call-ID), so a Call-ID that hashes to the sending shard brings its
// responses back to it (DESIGN.md "State that is not per Call-ID") with no table on the main thread.
// A change of worker count (resharding) moves such Call-IDs too: the owner then starts over with new
// ones, which is what a replacement shard does anyway.
import { randomBytes } from 'node:crypto';
import { shardFor } from './hash.js';

/** A fresh Call-ID (`<hex>@<host>`) that hashes to `shardId` among `shardCount` shards: ~shardCount tries. */
export function callIdForShard(shardId: number, shardCount: number, host: string): string {
  for (;;) {
    const id = `${randomBytes(9).toString('hex')}@${host}`;
    if (shardCount <= 1 || shardFor(id, shardCount) === shardId) return id;
  }
}

/** The shard that runs a peer's own requests (registration, keep-alive): the same on every shard. */
export function ownerShard(peerName: string, shardCount: number): number {
  return shardFor(`peer:${peerName}`, shardCount);
}
