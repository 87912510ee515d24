"""Operations: the worker loop and the demo district loader."""
