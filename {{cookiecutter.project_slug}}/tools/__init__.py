"""Developer tools for this project."""
