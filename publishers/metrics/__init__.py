"""Engagement numbers read back from the channels a post went out on: one module per channel, and the collector."""
