// Bounds that code on the shards needs too: kept out of schema.ts, whose TypeBox schema a worker
// thread should not load (it doubled a shard's start time).

/** The most worker threads (shards): the schema's bound for `workers`, the trunk counters' size. */
export const MAX_WORKERS = 64;

/**
 * The id of the shard `shard.placement: load` runs on the main thread beside the workers: above
 * every worker id, so Call-ID hashing (ids [0, workers)) and resharding never reach it.
 */
export const MAIN_SHARD_ID = MAX_WORKERS;

/** Shard ids that may hold state at once: every worker id and the main thread's shard. */
export const SHARD_SLOTS = MAX_WORKERS + 1;
