"""Training data: `vmm prepare` turns MIDI folders into token shards (`prepare`), read back through
`shards.ShardIndex` and `shards.load_shard`. The shard and manifest format is documented in `shards`."""
