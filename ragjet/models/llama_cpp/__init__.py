"""The local chat model on llama.cpp: `LocalChat` (`local_chat`) on the engine (`engine`: in this process or as
an engine process), its threads (`threads`), slot states kept on disk (`prompt_cache`) and the GGUF shipped
in several wheels (`split_gguf`)."""
