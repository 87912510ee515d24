"""Intake channels beyond the API: Open311 GeoReport v2 (and, later, QR pages and the hotline console)."""
