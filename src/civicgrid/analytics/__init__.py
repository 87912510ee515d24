"""Statistics: one definition of each figure (DESIGN §4), recomputable from the event log."""
