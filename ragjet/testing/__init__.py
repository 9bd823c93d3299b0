"""What ragjet's own tests use and a store, index, transform, embedder, reader or chat model of your own can
reuse: deterministic embedders (`embedders`) and the contracts as pytest mixins (`store_contract`,
`index_contract`, `transform_contract`, `embed_contract`, `reader_contract`, `chat_contract`). Imports pytest:
a test-time package, never imported by ragjet itself."""
