"""Bulletins 通报: the community daily digest, street weekly analysis and district monthly bulletin."""
