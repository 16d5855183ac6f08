"""Celery: the app, one task per stage, and the graph that runs a batch."""
