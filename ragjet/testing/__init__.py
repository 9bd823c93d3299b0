"""What ragjet's own tests use and a store, index or transform of your own can reuse: deterministic
embedders (`embedders`) and the contracts as pytest mixins (`store_contract`, `index_contract`,
`transform_contract`). Imports pytest: a test-time package, never imported by ragjet itself."""
