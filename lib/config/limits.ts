// Bounds that code on the shards needs too: kept out of schema.ts, whose TypeBox schema a worker
// thread should not load (it doubled a shard's start time).

/** The most worker threads (shards): the schema's bound for `workers`, the trunk counters' size. */
export const MAX_WORKERS = 64;
