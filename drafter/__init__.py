"""The drafter: one plan in, one publishable draft out."""
