"""What ragjet's own tests use and every extension point of your own (a store, index, transform, embedder,
reader, chat model or deploy method) can reuse: deterministic embedders (`embedders`) and the contracts as
pytest mixins (`store_contract`, `index_contract`, `transform_contract`, `embed_contract`, `reader_contract`,
`chat_contract`, `deploy_contract`). Imports pytest: a test-time package, never imported by ragjet itself."""
