"""The main job: from a video (or a bar count, for `vmm compose`) to a score, a preview and a scored video."""
