"""The deliver wing's view: pauses."""
