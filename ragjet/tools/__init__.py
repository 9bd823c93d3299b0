"""LazyLLM-compatible import paths (``lazyllm.tools.rag``), so the lecture's imports work unchanged."""
