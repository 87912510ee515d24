"""Operations: the worker loop, the demo loader, setup spreadsheets and QR sign sheets."""
