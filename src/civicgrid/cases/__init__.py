"""Cases (诉求/工单): the lifecycle, its deadlines, its events, and who may see and do what."""
