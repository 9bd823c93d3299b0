"""Text facts every layer needs and none owns: which language a text is in (`lang`), what a chunk costs in
tokens (`token_count`), and the word tokens of lexical search (`lexical`). A leaf package: it imports nothing
of ragjet but the registry's error helper."""
