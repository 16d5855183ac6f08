"""The planner: which beats, angles and formats a batch gets, and why."""
