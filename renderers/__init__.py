"""Renderers: the media of each post (hero images, covers, later videos), local or through fal.ai."""
