"""What ragjet's own tests use and a store or index of your own can reuse: deterministic embedders
(`embedders`) and the store contract as a pytest mixin (`store_contract`). Imports pytest: a test-time
package, never imported by ragjet itself."""
